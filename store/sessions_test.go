package store_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
	"github.com/assentdev/assent/store/storetest"
)

func TestAuthenticateUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	a := storetest.Account(t, s, "acme")
	u, err := s.CreateUser(ctx, a.ID, "Ann@Example.com", "Ann", assent.RoleMarketer, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, email, password string
		ok                    bool
	}{
		{"good", "ann@example.com", "correct horse battery", true},
		{"email not normalised", "  ANN@example.com ", "correct horse battery", true},
		{"wrong password", "ann@example.com", "correct horse", false},
		{"unknown email", "bob@example.com", "correct horse battery", false},
		{"unstorable email", "ann\x00@example.com", "correct horse battery", false},
	} {
		got, err := s.AuthenticateUser(ctx, tc.email, tc.password)
		switch {
		case tc.ok && (err != nil || got.ID != u.ID || got.Role != assent.RoleMarketer):
			t.Errorf("%s: got %+v, %v; want user %s", tc.name, got, err, u.ID)
		case !tc.ok && (assent.ErrorCode(err) != assent.ENOTFOUND || err.Error() != "not_found: wrong email or password"):
			t.Errorf("%s: got %v, want the one ENOTFOUND for any wrong sign-in", tc.name, err)
		}
	}
}

func TestSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	var offset atomic.Int64 // the test's clock runs ahead of the real one by this
	s.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	a := storetest.Account(t, s, "acme")
	u, err := s.CreateUser(ctx, a.ID, "ann@example.com", "Ann", assent.RoleEditor, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}

	sess, token, err := s.CreateSession(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if sess.ID == token || len(token) < 40 {
		t.Fatalf("got id %q and token %q: want a long token stored only as its hash", sess.ID, token)
	}
	got, err := s.Session(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if p := got.Principal(); p != (assent.Principal{AccountID: a.ID, Role: assent.RoleEditor, UserID: u.ID}) {
		t.Errorf("principal: got %+v", p)
	}
	if got.User.Email != "ann@example.com" || got.Account.Name != "acme" || got.Account.TimeZone != "UTC" {
		t.Errorf("got user %+v and account %+v", got.User, got.Account)
	}
	if _, err := s.Session(ctx, "x"+token); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Errorf("unknown token: got %v, want ENOTFOUND", err)
	}

	// Used every 90 minutes, the session lives 12 hours and no longer.
	for elapsed := 90 * time.Minute; elapsed < assent.SessionLifetime; elapsed += 90 * time.Minute {
		offset.Store(int64(elapsed))
		if _, err := s.Session(ctx, token); err != nil {
			t.Fatalf("after %v of use: got %v, want the session", elapsed, err)
		}
	}
	offset.Store(int64(assent.SessionLifetime))
	if _, err := s.Session(ctx, token); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Errorf("after 12 hours: got %v, want ENOTFOUND", err)
	}
	if n := storetest.Count(t, s, "sessions"); n != 0 {
		t.Errorf("got %d sessions stored, want the expired one deleted", n)
	}

	// Unused for two hours, a session ends.
	offset.Store(0)
	_, token, err = s.CreateSession(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	offset.Store(int64(assent.SessionIdleTimeout - time.Minute))
	if _, err := s.Session(ctx, token); err != nil {
		t.Fatalf("idle for 1h59: got %v, want the session", err)
	}
	offset.Store(int64(2 * (assent.SessionIdleTimeout - time.Minute)))
	if _, err := s.Session(ctx, token); err != nil {
		t.Fatalf("idle for 1h59 again: got %v, want the session", err)
	}
	offset.Store(int64(3*assent.SessionIdleTimeout - time.Minute))
	if _, err := s.Session(ctx, token); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Errorf("idle for 2h02: got %v, want ENOTFOUND", err)
	}

	// Signing out ends the session; signing out twice is no error.
	_, token, err = s.CreateSession(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.DeleteSession(ctx, token); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Session(ctx, token); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Errorf("after sign-out: got %v, want ENOTFOUND", err)
	}
}

func TestOptinFilterAndUsage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	a := storetest.Account(t, s, "acme")
	news, err := s.CreateSubcategory(ctx, a.ID, assent.Subcategory{Name: "News", Value: "news", Category: "newsletter_marketing"})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name, lang string, subs ...string) string {
		o, err := s.CreateOptin(ctx, a.ID, assent.Optin{Name: name, Language: lang, Text: "I agree",
			Display: assent.DisplayCheckbox, Subcategories: subs})
		if err != nil {
			t.Fatal(err)
		}
		return o.ID
	}
	o1 := mk("one", "fr", "news")
	mk("two", "en", "legal")
	o3 := mk("three", "en", "news", "partners")
	list, _, err := s.Optins(ctx, a.ID, store.OptinFilter{Subcategory: "news"}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != o1 || list[1].ID != o3 {
		t.Errorf("subcategory filter: got %v, want [%s %s]", list, o1, o3)
	}
	langs, err := s.OptinLanguages(ctx, a.ID)
	if err != nil || len(langs) != 2 || langs[0] != "en" || langs[1] != "fr" {
		t.Errorf("languages: got %v, %v; want [en fr]", langs, err)
	}
	usage, err := s.SubcategoryUsage(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if usage[news.ID] != 2 || len(usage) != 3 {
		t.Errorf("usage: got %v, want news used twice, legal and partners once", usage)
	}
}
