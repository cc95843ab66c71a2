package server

import (
	"net/http"

	"github.com/assentdev/assent"
)

func (s *Server) apiAccountGet(w http.ResponseWriter, r *http.Request) error {
	a, err := s.store.Account(r.Context(), principal(r.Context()).AccountID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) apiAccountUpdate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name     *string `json:"name"`
		TimeZone *string `json:"time_zone"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	a, err := s.store.UpdateAccount(r.Context(), principal(r.Context()).AccountID, func(a *assent.Account) {
		setIf(&a.Name, req.Name)
		setIf(&a.TimeZone, req.TimeZone)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) apiUserList(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	users, next, err := s.store.Users(r.Context(), principal(r.Context()).AccountID, page)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(users, next))
	return nil
}

func (s *Server) apiUserCreate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Email    string `json:"email"`
		Name     string `json:"name"`
		Role     string `json:"role"`
		Password string `json:"password"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	u, err := s.store.CreateUser(r.Context(), principal(r.Context()).AccountID, req.Email, req.Name,
		assent.Role(req.Role), req.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (s *Server) apiAPIKeyList(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r)
	if err != nil {
		return err
	}
	keys, next, err := s.store.APIKeys(r.Context(), principal(r.Context()).AccountID, page)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(keys, next))
	return nil
}

func (s *Server) apiAPIKeyCreate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	k, err := s.store.CreateAPIKey(r.Context(), principal(r.Context()).AccountID, req.Name, assent.Role(req.Role))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, k)
	return nil
}

func (s *Server) apiAPIKeyDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteAPIKey(r.Context(), principal(r.Context()).AccountID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setIf sets *dst to *src when src is not nil: the PATCH rule.
func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}
