package server_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/assentdev/assent"
)

// TestAdminUserRoleAndRemoval checks that an admin changes another user's
// role (which their open session follows at once) and removes a user (who
// is signed out at once), but neither of their own.
func TestAdminUserRoleAndRemoval(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	admin := e.user(assent.RoleAdmin)
	token := e.session(admin)
	zed := e.user(assent.RoleObserver, "zed@example.com")
	zedToken := e.session(zed)

	p := e.adminMust(200, token, "GET", "/admin/settings/users", nil)
	for _, want := range []string{`action="/admin/settings/users/` + zed.ID + `/role"`, `action="/admin/settings/users/` + zed.ID + `/remove"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("users: want %s", want)
		}
	}
	if strings.Contains(p.body, `/admin/settings/users/`+admin.ID+`/`) {
		t.Error("users: the admin is offered to change their own role or remove themselves")
	}
	e.adminMust(403, zedToken, "GET", "/admin/optins/new", nil)
	p = e.adminMust(303, token, "POST", "/admin/settings/users/"+zed.ID+"/role", url.Values{"role": {"marketer"}})
	if got := p.flash(); got != "ok:zed@example.com is now marketer." {
		t.Errorf("role: got flash %q", got)
	}
	e.adminMust(200, zedToken, "GET", "/admin/optins/new", nil) // the session follows at once

	for _, tc := range []struct {
		name, path string
		form       url.Values
		flash      string
	}{
		{"a role keys only have", zed.ID + "/role", url.Values{"role": {"collector"}}, "error:Choose one of the roles offered."},
		{"one's own role", admin.ID + "/role", url.Values{"role": {"observer"}}, "error:You cannot change your own role: ask another admin."},
		{"oneself", admin.ID + "/remove", nil, "error:You cannot remove yourself: ask another admin."},
	} {
		p := e.adminMust(303, token, "POST", "/admin/settings/users/"+tc.path, tc.form)
		if got := p.flash(); got != tc.flash {
			t.Errorf("%s: got flash %q, want %q", tc.name, got, tc.flash)
		}
	}
	e.adminMust(200, token, "GET", "/admin/settings", nil) // still an admin
	e.adminMust(404, token, "POST", "/admin/settings/users/usr_nope/role", url.Values{"role": {"editor"}})

	// Another account's user is not found.
	other, err := e.store.CreateUser(context.Background(), e.other.ID, "theirs@example.com", "", assent.RoleEditor, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	e.adminMust(404, token, "POST", "/admin/settings/users/"+other.ID+"/role", url.Values{"role": {"observer"}})
	e.adminMust(404, token, "POST", "/admin/settings/users/"+other.ID+"/remove", nil)

	p = e.adminMust(303, token, "POST", "/admin/settings/users/"+zed.ID+"/remove", nil)
	if !strings.HasPrefix(p.flash(), "ok:User removed") {
		t.Errorf("remove: got flash %q", p.flash())
	}
	if p := e.adminMust(303, zedToken, "GET", "/admin/optins", nil); !strings.Contains(p.header.Get("Location"), "/admin/login") {
		t.Errorf("the removed user's session: got redirect to %q, want the sign-in page", p.header.Get("Location"))
	}
	e.adminMust(422, "", "POST", "/admin/login", url.Values{"email": {"zed@example.com"}, "password": {testPassword}})
	if p := e.adminMust(200, token, "GET", "/admin/settings/users", nil); strings.Contains(p.body, "zed@example.com") {
		t.Error("the removed user is still listed")
	}
	if _, err := e.store.AuthenticateUser(context.Background(), "theirs@example.com", testPassword); err != nil {
		t.Errorf("the other account's user: %v", err)
	}
}

// TestAdminPassword checks that every signed-in user changes their own
// password, that a refused change names its problems and never shows a
// password back, and that the user's other sessions end.
func TestAdminPassword(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	const next = "staple tuna ferry"
	for _, role := range assent.UserRoles {
		t.Run(string(role), func(t *testing.T) {
			e := e.in(t)
			u := e.user(role)
			token, elsewhere := e.session(u), e.session(u)
			if p := e.adminMust(200, token, "GET", "/admin/optins", nil); !strings.Contains(p.body, `href="/admin/password"`) {
				t.Error("the page links no password page")
			}
			e.adminMust(200, token, "GET", "/admin/password", nil)
			for _, tc := range []struct {
				name                       string
				current, password, confirm string
				field, problem             string
			}{
				{"wrong current password", "guess", next, next, "current_password", "Is not your current password"},
				{"too short", testPassword, "short", "short", "password", "Must be at least 10 characters"},
				{"not typed twice alike", testPassword, next, next + "!", "password_confirm", "Does not match the new password"},
			} {
				p := e.adminMust(422, token, "POST", "/admin/password", url.Values{"current_password": {tc.current},
					"password": {tc.password}, "password_confirm": {tc.confirm}})
				if got := p.fieldError(tc.field); got != tc.problem {
					t.Errorf("%s: got %q next to %s, want %q", tc.name, got, tc.field, tc.problem)
				}
				for _, typed := range []string{tc.current, tc.password, tc.confirm} {
					if strings.Contains(p.body, `value="`+typed+`"`) {
						t.Errorf("%s: the page shows a password back", tc.name)
					}
				}
			}
			e.adminMust(200, elsewhere, "GET", "/admin/optins", nil) // nothing changed yet
			p := e.adminMust(303, token, "POST", "/admin/password", url.Values{"current_password": {testPassword},
				"password": {next}, "password_confirm": {next}})
			if !strings.HasPrefix(p.flash(), "ok:Your password is changed.") {
				t.Errorf("got flash %q", p.flash())
			}
			e.adminMust(200, token, "GET", "/admin/optins", nil)
			e.adminMust(303, elsewhere, "GET", "/admin/optins", nil)
			e.adminMust(422, "", "POST", "/admin/login", url.Values{"email": {u.Email}, "password": {testPassword}})
			e.adminMust(303, "", "POST", "/admin/login", url.Values{"email": {u.Email}, "password": {next}})
		})
	}
}
