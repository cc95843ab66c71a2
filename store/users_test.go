package store_test

import (
	"context"
	"testing"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store/storetest"
)

func TestUpdateUserRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	a := storetest.Account(t, s, "acme")
	other := storetest.Account(t, s, "other")
	u, err := s.CreateUser(ctx, a.ID, "ann@example.com", "Ann", assent.RoleEditor, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := s.CreateSession(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.UpdateUserRole(ctx, a.ID, u.ID, assent.RoleAdmin)
	if err != nil || got.Role != assent.RoleAdmin || got.Email != "ann@example.com" || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("got %+v, %v; want Ann as admin", got, err)
	}
	// The session follows at once.
	if sess, err := s.Session(ctx, token); err != nil || sess.User.Role != assent.RoleAdmin {
		t.Errorf("session: got role %q (%v), want admin", sess.User.Role, err)
	}
	for _, tc := range []struct {
		name      string
		accountID string
		id        string
		role      assent.Role
		code      string
	}{
		{"collector is for keys", a.ID, u.ID, assent.RoleCollector, assent.EINVALID},
		{"unknown role", a.ID, u.ID, "owner", assent.EINVALID},
		{"unknown user", a.ID, "usr_nope", assent.RoleObserver, assent.ENOTFOUND},
		{"another account's user", other.ID, u.ID, assent.RoleObserver, assent.ENOTFOUND},
	} {
		if _, err := s.UpdateUserRole(ctx, tc.accountID, tc.id, tc.role); assent.ErrorCode(err) != tc.code {
			t.Errorf("%s: got %v, want %s", tc.name, err, tc.code)
		}
	}
	if sess, _ := s.Session(ctx, token); sess.User.Role != assent.RoleAdmin {
		t.Errorf("after refused changes: got role %q, want admin", sess.User.Role)
	}
}

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	a := storetest.Account(t, s, "acme")
	other := storetest.Account(t, s, "other")
	u, err := s.CreateUser(ctx, a.ID, "ann@example.com", "Ann", assent.RoleEditor, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := s.CreateSession(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, other.ID, u.ID); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Errorf("another account's user: got %v, want ENOTFOUND", err)
	}
	if err := s.DeleteUser(ctx, a.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, token); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Errorf("session of a removed user: got %v, want ENOTFOUND", err)
	}
	if n, err := s.CountRows(ctx, "sessions"); err != nil || n != 0 {
		t.Errorf("got %d sessions (%v), want 0", n, err)
	}
	if _, err := s.AuthenticateUser(ctx, "ann@example.com", "correct horse battery"); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Errorf("sign-in of a removed user: got %v, want ENOTFOUND", err)
	}
	if err := s.DeleteUser(ctx, a.ID, u.ID); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Errorf("twice: got %v, want ENOTFOUND", err)
	}
	// The address is free again.
	if _, err := s.CreateUser(ctx, a.ID, "ann@example.com", "Ann", assent.RoleEditor, "correct horse battery"); err != nil {
		t.Errorf("the address of a removed user: %v", err)
	}
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	a := storetest.Account(t, s, "acme")
	const old, next = "correct horse battery", "staple tuna ferry"
	u, err := s.CreateUser(ctx, a.ID, "ann@example.com", "Ann", assent.RoleEditor, old)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := s.CreateUser(ctx, a.ID, "bob@example.com", "Bob", assent.RoleEditor, old)
	if err != nil {
		t.Fatal(err)
	}
	here, hereToken, _ := s.CreateSession(ctx, u)
	_, elsewhere, _ := s.CreateSession(ctx, u)
	_, bobToken, _ := s.CreateSession(ctx, bob)

	for _, tc := range []struct {
		name, current, password string
		field                   string
	}{
		{"wrong current password", "correct horse", next, "current_password"},
		{"too short", old, "short", "password"},
	} {
		err := s.ChangePassword(ctx, a.ID, u.ID, tc.current, tc.password, here.ID)
		var e *assent.Error
		if !asError(err, &e) || e.Code != assent.EINVALID || e.Fields[tc.field] == "" {
			t.Errorf("%s: got %v, want EINVALID naming %s", tc.name, err, tc.field)
		}
	}
	if _, err := s.AuthenticateUser(ctx, "ann@example.com", old); err != nil {
		t.Fatalf("after refused changes, the old password: %v", err)
	}
	if err := s.ChangePassword(ctx, a.ID, u.ID, old, next, here.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticateUser(ctx, "ann@example.com", old); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Errorf("the old password: got %v, want refused", err)
	}
	if _, err := s.AuthenticateUser(ctx, "ann@example.com", next); err != nil {
		t.Errorf("the new password: %v", err)
	}
	for token, live := range map[string]bool{hereToken: true, elsewhere: false, bobToken: true} {
		if _, err := s.Session(ctx, token); (err == nil) != live {
			t.Errorf("session %.8s…: got %v, want live %v", token, err, live)
		}
	}
	if err := s.ChangePassword(ctx, storetest.Account(t, s, "other").ID, u.ID, next, old, ""); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Errorf("through another account: got %v, want ENOTFOUND", err)
	}
}
