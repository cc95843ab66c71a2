package server

import (
	"net/http"
	"net/url"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
)

// categoryPurposes says what each category is for (SPEC §2), to help
// people file a subcategory or an opt-in in the right one.
var categoryPurposes = map[string]string{
	assent.CategoryNewsletterMarketing: "Direct marketing: newsletters, promotional email or SMS.",
	assent.CategoryLegal:               "Acceptance of legal texts: contest rules, terms and conditions, privacy policy.",
	assent.CategoryPartners:            "Sharing the person's details with third parties, or receiving their offers.",
	assent.CategoryOthers:              "Purpose unknown or none of the above; to be used rarely.",
}

var subcategoryLabels = []fieldLabel{{"name", "Name"}, {"value", "Value"}, {"category", "Category"}}

// categoryChoices are the four categories as select options.
func categoryChoices() []choice {
	out := make([]choice, len(assent.Categories))
	for i, c := range assent.Categories {
		out[i] = choice{Value: c.Key, Label: c.Name}
	}
	return out
}

// subcategoriesView is the data of the subcategories page.
type subcategoriesView struct {
	adminPage
	Groups     []subcategoryGroup
	Custom     int // custom subcategories, against the limit Max
	Max        int
	Categories []choice
	// InUse lists the opt-ins that keep Refused from being deleted.
	Refused string
	InUse   []assent.Optin
}

// subcategoryGroup is one category with its subcategories.
type subcategoryGroup struct {
	Category assent.Category
	Purpose  string
	Items    []subcategoryRow
}

type subcategoryRow struct {
	assent.Subcategory
	Used int // opt-ins using it
}

// Full reports whether the account has reached the limit.
func (v subcategoriesView) Full() bool { return v.Custom >= v.Max }

func (s *Server) subcategoriesView(r *http.Request, form formView) (*subcategoriesView, error) {
	accountID := principal(r.Context()).AccountID
	subs, err := s.store.Subcategories(r.Context(), accountID)
	if err != nil {
		return nil, err
	}
	usage, err := s.store.SubcategoryUsage(r.Context(), accountID)
	if err != nil {
		return nil, err
	}
	v := &subcategoriesView{adminPage: adminPage{Title: "Subcategories", Section: "subcategories", Form: form},
		Max: assent.MaxCustomSubcategories, Categories: categoryChoices()}
	for _, c := range assent.Categories {
		g := subcategoryGroup{Category: c, Purpose: categoryPurposes[c.Key]}
		for _, sc := range subs {
			if sc.Category == c.Key {
				g.Items = append(g.Items, subcategoryRow{Subcategory: sc, Used: usage[sc.ID]})
			}
		}
		v.Groups = append(v.Groups, g)
	}
	for _, sc := range subs {
		if !sc.Builtin {
			v.Custom++
		}
	}
	return v, nil
}

func (s *Server) adminSubcategoryList(w http.ResponseWriter, r *http.Request) error {
	form := newForm(url.Values{"category": {r.URL.Query().Get("category")}}, subcategoryLabels)
	v, err := s.subcategoriesView(r, form)
	if err != nil {
		return err
	}
	s.adminRender(w, r, http.StatusOK, "subcategories", v)
	return nil
}

func (s *Server) adminSubcategoryCreate(w http.ResponseWriter, r *http.Request) error {
	form, err := parseAdminForm(w, r)
	if err != nil {
		return err
	}
	sc, err := s.store.CreateSubcategory(r.Context(), principal(r.Context()).AccountID, assent.Subcategory{
		Name: form.Get("name"), Value: form.Get("value"), Category: form.Get("category")})
	if err != nil {
		f := newForm(form, subcategoryLabels)
		if !f.withError(err) {
			return err
		}
		v, verr := s.subcategoriesView(r, f)
		if verr != nil {
			return verr
		}
		s.adminRender(w, r, formStatus(err), "subcategories", v)
		return nil
	}
	return s.redirect(w, r, "/admin/subcategories#sub-"+sc.ID, "Subcategory “"+sc.Name+"” created.")
}

// subcategoryFormView is the data of the page that edits a subcategory.
type subcategoryFormView struct {
	adminPage
	Subcategory assent.Subcategory
	Used        int
	Categories  []choice
}

func (s *Server) subcategoryForm(r *http.Request, sc assent.Subcategory, form formView) (*subcategoryFormView, error) {
	usage, err := s.store.SubcategoryUsage(r.Context(), principal(r.Context()).AccountID)
	if err != nil {
		return nil, err
	}
	return &subcategoryFormView{adminPage: adminPage{Title: "Edit subcategory “" + sc.Name + "”", Section: "subcategories",
		Form: form}, Subcategory: sc, Used: usage[sc.ID], Categories: categoryChoices()}, nil
}

func (s *Server) adminSubcategoryEdit(w http.ResponseWriter, r *http.Request) error {
	sc, err := s.store.Subcategory(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if sc.Builtin {
		return assent.Errorf(assent.ECONFLICT, "The built-in subcategory “%s” cannot be changed.", sc.Name)
	}
	v, err := s.subcategoryForm(r, sc, newForm(url.Values{"name": {sc.Name}, "value": {sc.Value},
		"category": {sc.Category}}, subcategoryLabels))
	if err != nil {
		return err
	}
	s.adminRender(w, r, http.StatusOK, "subcategory_form", v)
	return nil
}

// adminSubcategoryUpdate renames, moves or revalues a subcategory.
func (s *Server) adminSubcategoryUpdate(w http.ResponseWriter, r *http.Request) error {
	form, err := parseAdminForm(w, r)
	if err != nil {
		return err
	}
	accountID := principal(r.Context()).AccountID
	sc, err := s.store.UpdateSubcategory(r.Context(), accountID, r.PathValue("id"), func(sc *assent.Subcategory) {
		sc.Name, sc.Value, sc.Category = form.Get("name"), form.Get("value"), form.Get("category")
	})
	if err != nil {
		f := newForm(form, subcategoryLabels)
		if assent.ErrorCode(err) == assent.ENOTFOUND || !f.withError(err) {
			return err
		}
		old, gerr := s.store.Subcategory(r.Context(), accountID, r.PathValue("id"))
		if gerr != nil {
			return gerr
		}
		v, verr := s.subcategoryForm(r, old, f)
		if verr != nil {
			return verr
		}
		s.adminRender(w, r, formStatus(err), "subcategory_form", v)
		return nil
	}
	return s.redirect(w, r, "/admin/subcategories#sub-"+sc.ID, "Subcategory “"+sc.Name+"” saved.")
}

// adminSubcategoryDelete deletes an unused subcategory. When opt-ins use
// it, the page lists them, with links to change them.
func (s *Server) adminSubcategoryDelete(w http.ResponseWriter, r *http.Request) error {
	accountID := principal(r.Context()).AccountID
	sc, err := s.store.Subcategory(r.Context(), accountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	err = s.store.DeleteSubcategory(r.Context(), accountID, sc.ID)
	if assent.ErrorCode(err) == assent.ECONFLICT {
		v, verr := s.subcategoriesView(r, newForm(nil, subcategoryLabels))
		if verr != nil {
			return verr
		}
		v.Refused = sc.Name
		v.InUse, err = listAll(func(cursor string) ([]assent.Optin, string, error) {
			return s.store.Optins(r.Context(), accountID, store.OptinFilter{Subcategory: sc.Value},
				store.Page{Cursor: cursor, Limit: store.MaxLimit})
		})
		if err != nil {
			return err
		}
		if len(v.InUse) == 0 { // not a use but another conflict: a built-in one
			v.Form.Problem = "The built-in subcategory “" + sc.Name + "” cannot be deleted."
		}
		s.adminRender(w, r, http.StatusConflict, "subcategories", v)
		return nil
	}
	if err != nil {
		return err
	}
	return s.redirect(w, r, "/admin/subcategories", "Subcategory “"+sc.Name+"” deleted.")
}
