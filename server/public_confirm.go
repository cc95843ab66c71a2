package server

import (
	"html/template"
	"net/http"
	"net/url"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
)

// confirmPage is the data of the double opt-in confirmation page.
type confirmPage struct {
	L     *locale
	Title string
	// State is ask (show the button), done (just confirmed), already
	// (confirmed before) or expired.
	State string
	// Optins are the texts to confirm, as the participant read them.
	Optins         []template.HTML
	Action         string
	PreferencesURL string
}

// publicConfirmShow shows what a confirmation link is for, with a button.
// It never confirms: mail scanners open links, and a person must act.
func (s *Server) publicConfirmShow(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	info, err := s.store.ConfirmationByToken(r.Context(), token)
	if err != nil {
		return err
	}
	p, l := s.newConfirmPage(info, token)
	status := http.StatusOK
	switch {
	case info.Confirmed:
		p.State, p.Title = "already", l.T("confirm.already_title")
		if p.PreferencesURL, err = s.PreferencesURL(r.Context(), info.AccountID, info.ParticipantID); err != nil {
			return inLocale(l, err)
		}
	case info.Expired:
		p.State, p.Title, status = "expired", l.T("confirm.expired_title"), http.StatusGone
	}
	s.render(w, r, status, "confirm", p, false)
	return nil
}

// publicConfirm confirms the double opt-ins of a token. Confirming twice
// is harmless: the second time shows the same page.
func (s *Server) publicConfirm(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	info, err := s.store.Confirm(r.Context(), token)
	if assent.ErrorCode(err) == assent.ECONFLICT {
		// Expired. Confirm does not say in which language: ask again.
		if info, err = s.store.ConfirmationByToken(r.Context(), token); err != nil {
			return err
		}
		p, l := s.newConfirmPage(info, token)
		p.State, p.Title = "expired", l.T("confirm.expired_title")
		s.render(w, r, http.StatusGone, "confirm", p, false)
		return nil
	}
	if err != nil {
		return err
	}
	p, l := s.newConfirmPage(info, token)
	p.State, p.Title = "done", l.T("confirm.done_title")
	if p.PreferencesURL, err = s.PreferencesURL(r.Context(), info.AccountID, info.ParticipantID); err != nil {
		return inLocale(l, err)
	}
	s.render(w, r, http.StatusOK, "confirm", p, false)
	return nil
}

func (s *Server) newConfirmPage(info store.ConfirmationInfo, token string) (confirmPage, *locale) {
	l := localeFor(info.Language)
	texts := make([]template.HTML, len(info.Optins))
	for i, t := range info.Optins {
		texts[i] = richText(t, l, false)
	}
	return confirmPage{L: l, Title: l.T("confirm.title"), State: "ask", Optins: texts,
		Action: "/confirm/" + url.PathEscape(token)}, l
}
