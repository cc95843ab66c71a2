package server

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/assentdev/assent"
)

// loginView is the data of the sign-in page.
type loginView struct {
	adminPage
	Next string
	// Notice explains why the visitor is here: signed out, session ended.
	Notice string
}

func (s *Server) adminLoginShow(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	next := localPath(q.Get("next"))
	if _, err := s.adminSession(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	p := &loginView{adminPage: adminPage{Title: "Sign in", Form: newForm(nil, nil)}, Next: next}
	if q.Get("expired") == "1" {
		p.Notice = "Your session has ended. Sign in again to continue."
	}
	s.adminRender(w, r, http.StatusOK, "login", p)
	return nil
}

// adminLogin checks an email and password and opens a session. Unknown
// email and wrong password get the same answer, and attempts are limited
// per client address and per email address.
func (s *Server) adminLogin(w http.ResponseWriter, r *http.Request) error {
	v, err := parseAdminForm(w, r)
	if err != nil {
		return err
	}
	email := assent.NormalizeEmail(v.Get("email"))
	p := &loginView{adminPage: adminPage{Title: "Sign in", Form: newForm(url.Values{"email": {v.Get("email")}}, nil)},
		Next: localPath(v.Get("next"))}
	if wait, ok := s.allowLogin(r, email); !ok {
		minutes := int(math.Ceil(wait.Minutes()))
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		p.Form.Problem = fmt.Sprintf("Too many sign-in attempts. Wait %d minute%s, then try again.", minutes, plural(minutes))
		s.adminRender(w, r, http.StatusTooManyRequests, "login", p)
		return nil
	}
	if email == "" || v.Get("password") == "" {
		p.Form.Problem = "Enter your email address and your password."
		s.adminRender(w, r, http.StatusUnprocessableEntity, "login", p)
		return nil
	}
	u, err := s.store.AuthenticateUser(r.Context(), email, v.Get("password"))
	if assent.ErrorCode(err) == assent.ENOTFOUND {
		p.Form.Problem = "The email address or the password is not right."
		s.adminRender(w, r, http.StatusUnprocessableEntity, "login", p)
		return nil
	}
	if err != nil {
		return err
	}
	// A new session, never one the browser brought: no fixation.
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.store.DeleteSession(r.Context(), c.Value); err != nil {
			return err
		}
	}
	_, token, err := s.store.CreateSession(r.Context(), u)
	if err != nil {
		return err
	}
	s.setSessionCookie(w, token, int(assent.SessionLifetime/time.Second))
	http.Redirect(w, r, p.Next, http.StatusSeeOther)
	return nil
}

// allowLogin takes a sign-in attempt from the limits of the client address
// and of the email address; when either is used up, it says how long to wait.
func (s *Server) allowLogin(r *http.Request, email string) (time.Duration, bool) {
	var wait time.Duration
	ok := true
	if l := s.adminUI.loginByIP; l != nil {
		if allowed, d := l.allow(limitKey(s.clientIP(r))); !allowed {
			ok, wait = false, max(wait, d)
		}
	}
	if l := s.adminUI.loginByEmail; l != nil && email != "" {
		if allowed, d := l.allow(email); !allowed {
			ok, wait = false, max(wait, d)
		}
	}
	return wait, ok
}

// adminLogout ends the session, whether or not it is still live.
func (s *Server) adminLogout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.store.DeleteSession(r.Context(), c.Value); err != nil {
			return err
		}
	}
	s.setSessionCookie(w, "", -1)
	s.setFlash(w, "ok", "You are signed out.")
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
	return nil
}

// adminHome opens the page people use most: the campaigns.
func (s *Server) adminHome(w http.ResponseWriter, r *http.Request) error {
	http.Redirect(w, r, "/admin/campaigns", http.StatusSeeOther)
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
