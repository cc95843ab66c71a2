package server

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
)

var (
	accountLabels = []fieldLabel{{"name", "Account name"}, {"time_zone", "Time zone"}}
	userLabels    = []fieldLabel{{"email", "Email address"}, {"name", "Name"}, {"role", "Role"}, {"password", "Password"}}
	apiKeyLabels  = []fieldLabel{{"name", "Label"}, {"role", "Role"}}
)

// roleDescriptions say what each role may do (SPEC §6), where a role is
// chosen.
var roleDescriptions = map[assent.Role]string{
	assent.RoleAdmin:     "everything, including users, API keys and account settings",
	assent.RoleMarketer:  "opt-ins, subcategories, campaigns, statistics and participants",
	assent.RoleEditor:    "campaigns and their forms; reads everything else",
	assent.RoleObserver:  "reads content and statistics; changes nothing",
	assent.RoleCollector: "only submits participations (for the API keys of your forms)",
}

func roleChoices(roles []assent.Role) []choice {
	out := make([]choice, len(roles))
	for i, r := range roles {
		out[i] = choice{Value: string(r), Label: upperFirst(string(r)) + " — " + roleDescriptions[r]}
	}
	return out
}

// accountView is the data of the account settings tab.
type accountView struct {
	adminPage
	Account   assent.Account
	TimeZones []choice
}

func (s *Server) accountForm(r *http.Request, form formView) (*accountView, error) {
	a, err := s.store.Account(r.Context(), principal(r.Context()).AccountID)
	if err != nil {
		return nil, err
	}
	v := &accountView{adminPage: adminPage{Title: "Account", Section: "settings", Tab: "account", Form: form}, Account: a}
	zones := timeZones
	if !slices.Contains(zones, a.TimeZone) {
		zones = append([]string{a.TimeZone}, zones...)
	}
	for _, z := range zones {
		group, _, ok := strings.Cut(z, "/")
		if !ok {
			group = ""
		}
		v.TimeZones = append(v.TimeZones, choice{Value: z, Label: strings.ReplaceAll(z, "_", " "), Group: group})
	}
	return v, nil
}

func (s *Server) adminAccountShow(w http.ResponseWriter, r *http.Request) error {
	a := sessionOf(r).Account
	v, err := s.accountForm(r, newForm(url.Values{"name": {a.Name}, "time_zone": {a.TimeZone}}, accountLabels))
	if err != nil {
		return err
	}
	s.adminRender(w, r, http.StatusOK, "settings_account", v)
	return nil
}

func (s *Server) adminAccountUpdate(w http.ResponseWriter, r *http.Request) error {
	form, err := parseAdminForm(w, r)
	if err != nil {
		return err
	}
	_, err = s.store.UpdateAccount(r.Context(), principal(r.Context()).AccountID, func(a *assent.Account) {
		a.Name, a.TimeZone = form.Get("name"), form.Get("time_zone")
	})
	if err != nil {
		f := newForm(form, accountLabels)
		if !f.withError(err) {
			return err
		}
		if f.Problem != "" && strings.Contains(f.Problem, "account named") {
			f.Errors["name"], f.Problem = "Another account has this name", ""
		}
		v, verr := s.accountForm(r, f)
		if verr != nil {
			return verr
		}
		s.adminRender(w, r, formStatus(err), "settings_account", v)
		return nil
	}
	return s.redirect(w, r, "/admin/settings", "Account settings saved.")
}

// usersView is the data of the users tab.
type usersView struct {
	adminPage
	Users []assent.User
	Roles []choice
}

func (s *Server) usersView(r *http.Request, form formView) (*usersView, error) {
	users, err := listAll(func(cursor string) ([]assent.User, string, error) {
		return s.store.Users(r.Context(), principal(r.Context()).AccountID, store.Page{Cursor: cursor, Limit: store.MaxLimit})
	})
	if err != nil {
		return nil, err
	}
	return &usersView{adminPage: adminPage{Title: "Users", Section: "settings", Tab: "users", Form: form},
		Users: users, Roles: roleChoices(assent.UserRoles)}, nil
}

func (s *Server) adminUserList(w http.ResponseWriter, r *http.Request) error {
	v, err := s.usersView(r, newForm(url.Values{"role": {string(assent.RoleMarketer)}}, userLabels))
	if err != nil {
		return err
	}
	s.adminRender(w, r, http.StatusOK, "settings_users", v)
	return nil
}

func (s *Server) adminUserCreate(w http.ResponseWriter, r *http.Request) error {
	form, err := parseAdminForm(w, r)
	if err != nil {
		return err
	}
	u, err := s.store.CreateUser(r.Context(), principal(r.Context()).AccountID, form.Get("email"), form.Get("name"),
		assent.Role(form.Get("role")), form.Get("password"))
	if err != nil {
		// The password is never sent back to the browser.
		form.Del("password")
		f := newForm(form, userLabels)
		if !f.withError(err) {
			return err
		}
		v, verr := s.usersView(r, f)
		if verr != nil {
			return verr
		}
		s.adminRender(w, r, formStatus(err), "settings_users", v)
		return nil
	}
	return s.redirect(w, r, "/admin/settings/users",
		"User "+u.Email+" created as "+string(u.Role)+". Give them their password in person or by another channel than email.")
}

// adminUserRole gives a user another role. An admin does not change their
// own: that way the account always keeps the admin who acts.
func (s *Server) adminUserRole(w http.ResponseWriter, r *http.Request) error {
	form, err := parseAdminForm(w, r)
	if err != nil {
		return err
	}
	if r.PathValue("id") == sessionOf(r).UserID {
		return s.backToUsers(w, r, "You cannot change your own role: ask another admin.")
	}
	u, err := s.store.UpdateUserRole(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"),
		assent.Role(form.Get("role")))
	if assent.ErrorCode(err) == assent.EINVALID {
		return s.backToUsers(w, r, "Choose one of the roles offered.")
	}
	if err != nil {
		return err
	}
	return s.redirect(w, r, "/admin/settings/users", u.Email+" is now "+string(u.Role)+".")
}

// adminUserRemove removes a user, who is signed out at once. An admin does
// not remove themselves.
func (s *Server) adminUserRemove(w http.ResponseWriter, r *http.Request) error {
	if r.PathValue("id") == sessionOf(r).UserID {
		return s.backToUsers(w, r, "You cannot remove yourself: ask another admin.")
	}
	if err := s.store.DeleteUser(r.Context(), principal(r.Context()).AccountID, r.PathValue("id")); err != nil {
		return err
	}
	return s.redirect(w, r, "/admin/settings/users", "User removed: they can no longer sign in, and their sessions ended.")
}

// backToUsers answers a refused action on a user with the users tab and
// an error flash.
func (s *Server) backToUsers(w http.ResponseWriter, r *http.Request, problem string) error {
	s.setFlash(w, "error", problem)
	return s.redirect(w, r, "/admin/settings/users", "")
}

var passwordLabels = []fieldLabel{{"current_password", "Current password"}, {"password", "New password"},
	{"password_confirm", "New password again"}}

// passwordView is the data of the page where a user changes their password.
type passwordView struct{ adminPage }

func (s *Server) adminPasswordShow(w http.ResponseWriter, r *http.Request) error {
	s.adminRender(w, r, http.StatusOK, "password", &passwordView{adminPage{Title: "Your password", Section: "password",
		Form: newForm(nil, passwordLabels)}})
	return nil
}

// adminPasswordChange sets the signed-in user's new password, given their
// current one, and signs out their other sessions. No password typed is
// ever sent back to the browser.
func (s *Server) adminPasswordChange(w http.ResponseWriter, r *http.Request) error {
	form, err := parseAdminForm(w, r)
	if err != nil {
		return err
	}
	f := newForm(nil, passwordLabels)
	sess := sessionOf(r)
	if form.Get("password") != form.Get("password_confirm") {
		f.Errors["password_confirm"] = "Does not match the new password"
		err = assent.Errorf(assent.EINVALID, "the new passwords differ")
	} else {
		err = s.store.ChangePassword(r.Context(), sess.AccountID, sess.UserID, form.Get("current_password"),
			form.Get("password"), sess.ID)
	}
	if err != nil {
		if f.Failed() || f.withError(err) {
			s.adminRender(w, r, http.StatusUnprocessableEntity, "password", &passwordView{adminPage{Title: "Your password",
				Section: "password", Form: f}})
			return nil
		}
		return err
	}
	return s.redirect(w, r, "/admin/password", "Your password is changed. Your other sessions, if any, are signed out.")
}

// apiKeysView is the data of the API keys tab.
type apiKeysView struct {
	adminPage
	Keys  []assent.APIKey
	Roles []choice
	// Created is the key just made, shown this once.
	Created *assent.APIKey
}

func (s *Server) apiKeysView(r *http.Request, form formView) (*apiKeysView, error) {
	keys, err := listAll(func(cursor string) ([]assent.APIKey, string, error) {
		return s.store.APIKeys(r.Context(), principal(r.Context()).AccountID, store.Page{Cursor: cursor, Limit: store.MaxLimit})
	})
	if err != nil {
		return nil, err
	}
	return &apiKeysView{adminPage: adminPage{Title: "API keys", Section: "settings", Tab: "apikeys", Form: form},
		Keys: keys, Roles: roleChoices(assent.Roles)}, nil
}

func (s *Server) adminAPIKeyList(w http.ResponseWriter, r *http.Request) error {
	v, err := s.apiKeysView(r, newForm(url.Values{"role": {string(assent.RoleCollector)}}, apiKeyLabels))
	if err != nil {
		return err
	}
	s.adminRender(w, r, http.StatusOK, "settings_apikeys", v)
	return nil
}

// adminAPIKeyCreate makes a key and shows it in the answer itself, never in
// a redirect, a cookie or a log: this page is the only time it exists in
// clear.
func (s *Server) adminAPIKeyCreate(w http.ResponseWriter, r *http.Request) error {
	form, err := parseAdminForm(w, r)
	if err != nil {
		return err
	}
	k, err := s.store.CreateAPIKey(r.Context(), principal(r.Context()).AccountID, form.Get("name"), assent.Role(form.Get("role")))
	if err != nil {
		f := newForm(form, apiKeyLabels)
		if !f.withError(err) {
			return err
		}
		v, verr := s.apiKeysView(r, f)
		if verr != nil {
			return verr
		}
		s.adminRender(w, r, formStatus(err), "settings_apikeys", v)
		return nil
	}
	v, err := s.apiKeysView(r, newForm(url.Values{"role": {string(assent.RoleCollector)}}, apiKeyLabels))
	if err != nil {
		return err
	}
	v.Created = &k
	s.adminRender(w, r, http.StatusCreated, "settings_apikeys", v)
	return nil
}

func (s *Server) adminAPIKeyRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.DeleteAPIKey(r.Context(), principal(r.Context()).AccountID, r.PathValue("id")); err != nil {
		return err
	}
	return s.redirect(w, r, "/admin/settings/apikeys", "API key revoked: it no longer opens the API.")
}
