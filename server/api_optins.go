package server

import (
	"net/http"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
)

func (s *Server) apiOptinList(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.OptinFilter{Status: q.Get("status"), Language: q.Get("language"), Category: q.Get("category")}
	p := assent.Problems{}
	if f.Status != "" && f.Status != assent.StatusActive && f.Status != assent.StatusArchived {
		p.Add("status", "must be active or archived")
	}
	if f.Language != "" {
		tag, err := assent.CanonicalLanguage(f.Language)
		if err != nil {
			p.Add("language", "must be a BCP 47 language tag such as en, fr or nl-BE")
		}
		f.Language = tag
	}
	if f.Category != "" && assent.CategoryIndex(f.Category) < 0 {
		p.Add("category", "must be one of newsletter_marketing, legal, partners, others")
	}
	if err := p.Err(); err != nil {
		return err
	}
	optins, next, err := s.store.Optins(r.Context(), principal(r.Context()).AccountID, f, page)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(optins, next))
	return nil
}

func (s *Server) apiOptinGet(w http.ResponseWriter, r *http.Request) error {
	o, err := s.store.Optin(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

func (s *Server) apiOptinCreate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name          string   `json:"name"`
		Language      string   `json:"language"`
		Text          string   `json:"text"`
		Info          string   `json:"info"`
		LogoURL       string   `json:"logo_url"`
		Display       string   `json:"display"`
		Mandatory     bool     `json:"mandatory"`
		DoubleOptin   bool     `json:"double_optin"`
		Variable      string   `json:"variable"`
		Subcategories []string `json:"subcategories"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Display == "" {
		req.Display = assent.DisplayCheckbox
	}
	o, err := s.store.CreateOptin(r.Context(), principal(r.Context()).AccountID, assent.Optin{
		Name: req.Name, Language: req.Language, Text: req.Text, Info: req.Info, LogoURL: req.LogoURL,
		Display: req.Display, Mandatory: req.Mandatory, DoubleOptin: req.DoubleOptin, Variable: req.Variable,
		Subcategories: req.Subcategories,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, o)
	return nil
}

func (s *Server) apiOptinUpdate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name          *string   `json:"name"`
		Language      *string   `json:"language"`
		Text          *string   `json:"text"`
		Info          *string   `json:"info"`
		LogoURL       *string   `json:"logo_url"`
		Display       *string   `json:"display"`
		Mandatory     *bool     `json:"mandatory"`
		DoubleOptin   *bool     `json:"double_optin"`
		Variable      *string   `json:"variable"`
		Subcategories *[]string `json:"subcategories"`
		Status        *string   `json:"status"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	o, err := s.store.UpdateOptin(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"), func(o *assent.Optin) {
		setIf(&o.Name, req.Name)
		setIf(&o.Language, req.Language)
		setIf(&o.Text, req.Text)
		setIf(&o.Info, req.Info)
		setIf(&o.LogoURL, req.LogoURL)
		setIf(&o.Display, req.Display)
		setIf(&o.Mandatory, req.Mandatory)
		setIf(&o.DoubleOptin, req.DoubleOptin)
		setIf(&o.Variable, req.Variable)
		setIf(&o.Subcategories, req.Subcategories)
		setIf(&o.Status, req.Status)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

// apiOptinDelete deletes an opt-in nobody answered and no form shows (204),
// and archives any other (200 with the archived opt-in).
func (s *Server) apiOptinDelete(w http.ResponseWriter, r *http.Request) error {
	o, deleted, err := s.store.DeleteOptin(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if deleted {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

func (s *Server) apiOptinVersions(w http.ResponseWriter, r *http.Request) error {
	versions, err := s.store.OptinVersions(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": versions})
	return nil
}
