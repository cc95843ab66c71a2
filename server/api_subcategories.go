package server

import (
	"net/http"

	"github.com/assentdev/assent"
)

type categoryJSON struct {
	assent.Category
	Subcategories []assent.Subcategory `json:"subcategories"`
}

func (s *Server) apiCategoryList(w http.ResponseWriter, r *http.Request) error {
	subs, err := s.store.Subcategories(r.Context(), principal(r.Context()).AccountID)
	if err != nil {
		return err
	}
	out := make([]categoryJSON, len(assent.Categories))
	for i, c := range assent.Categories {
		out[i] = categoryJSON{Category: c, Subcategories: []assent.Subcategory{}}
	}
	for _, sc := range subs {
		i := assent.CategoryIndex(sc.Category)
		out[i].Subcategories = append(out[i].Subcategories, sc)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
	return nil
}

func (s *Server) apiSubcategoryList(w http.ResponseWriter, r *http.Request) error {
	subs, err := s.store.Subcategories(r.Context(), principal(r.Context()).AccountID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": subs})
	return nil
}

func (s *Server) apiSubcategoryGet(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.store.Subcategory(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sc)
	return nil
}

func (s *Server) apiSubcategoryCreate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name     string `json:"name"`
		Value    string `json:"value"`
		Category string `json:"category"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	sc, err := s.store.CreateSubcategory(r.Context(), principal(r.Context()).AccountID,
		assent.Subcategory{Name: req.Name, Value: req.Value, Category: req.Category})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, sc)
	return nil
}

func (s *Server) apiSubcategoryUpdate(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Name     *string `json:"name"`
		Value    *string `json:"value"`
		Category *string `json:"category"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	sc, err := s.store.UpdateSubcategory(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"),
		func(sc *assent.Subcategory) {
			setIf(&sc.Name, req.Name)
			setIf(&sc.Value, req.Value)
			setIf(&sc.Category, req.Category)
		})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sc)
	return nil
}

func (s *Server) apiSubcategoryDelete(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteSubcategory(r.Context(), principal(r.Context()).AccountID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
