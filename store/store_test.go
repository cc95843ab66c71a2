package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
	"github.com/assentdev/assent/store/storetest"
)

func TestMigrateTwiceIsANoop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if _, err := s.EnsureDefaultAccount(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestSetWriterCache sizes the writing connection's page cache on SQLite,
// which the write path keeps using, and refuses a size below 1 MiB on
// either engine.
func TestSetWriterCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	for _, tc := range []struct {
		mib     int
		want    string // PRAGMA cache_size on SQLite, in KiB below zero
		refused bool
	}{
		{mib: 1, want: "-1024"},
		{mib: 256, want: "-262144"},
		{mib: 0, want: "-262144", refused: true},
		{mib: -5, want: "-262144", refused: true},
	} {
		if err := s.SetWriterCache(ctx, tc.mib); (err != nil) != tc.refused {
			t.Fatalf("SetWriterCache(%d): %v, want refused %v", tc.mib, err, tc.refused)
		}
		if s.Engine() != store.SQLite {
			continue // nothing to size
		}
		got, err := store.ScalarForTest(s, `PRAGMA cache_size`)
		if err != nil || got != tc.want {
			t.Fatalf("after SetWriterCache(%d): cache_size %q (%v), want %s", tc.mib, got, err, tc.want)
		}
	}
	// The writer goes on writing through the same connection.
	if _, err := s.CreateAccount(ctx, "cached", "UTC"); err != nil {
		t.Fatal(err)
	}
}

func TestMigrateRefusesNewerDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	next := store.SchemaVersion() + 1
	if err := store.ExecForTest(s, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)`, next); err != nil {
		t.Fatal(err)
	}
	err = s.Migrate(ctx)
	if err == nil || !strings.Contains(err.Error(), "newer assent") {
		t.Fatalf("got %v, want an error asking for a newer assent", err)
	}
}

func TestEnsureDefaultAccount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	created, err := s.EnsureDefaultAccount(ctx)
	if err != nil || !created {
		t.Fatalf("first call: created %v, err %v; want true, nil", created, err)
	}
	created, err = s.EnsureDefaultAccount(ctx)
	if err != nil || created {
		t.Fatalf("second call: created %v, err %v; want false, nil", created, err)
	}
	a, err := s.AccountByNameOrID(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if a.TimeZone != "UTC" {
		t.Errorf("time zone: got %q, want UTC", a.TimeZone)
	}
	subs, err := s.Subcategories(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, sc := range subs {
		values = append(values, sc.Value)
	}
	if got, want := strings.Join(values, ","), "newsletter_marketing,legal,partners,others"; got != want {
		t.Errorf("built-in subcategories: got %s, want %s", got, want)
	}
}

// TestWritePathCache checks what the write path keeps in memory: a change
// made through the store is seen by the next submission, a revoked API key
// stops at once, and a change made by another process sharing the
// database is seen within a second.
func TestWritePathCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	answers := func() map[string]*bool {
		return map[string]*bool{f.newsletter.ID: yes(), f.rules.ID: yes(), f.partners.ID: nil, f.daily.ID: no()}
	}
	if _, _, err := f.s.Participate(ctx, f.account.ID, f.campaign.ID, f.submit("a@example.com", answers())); err != nil {
		t.Fatal(err)
	}
	// Through the store: the next submission sees the new form at once.
	if _, err := f.s.UpdateCampaign(ctx, f.account.ID, f.campaign.ID, func(c *assent.Campaign) error {
		c.Optins = []string{f.rules.ID}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, _, err := f.s.Participate(ctx, f.account.ID, f.campaign.ID, f.submit("b@example.com", answers()))
	if assent.ErrorCode(err) != assent.EINVALID {
		t.Fatalf("answers to opt-ins no longer on the form: got %v, want EINVALID", err)
	}

	key, err := f.s.CreateAPIKey(ctx, f.account.ID, "k", assent.RoleCollector)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Authenticate(ctx, key.Key); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DeleteAPIKey(ctx, f.account.ID, key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Authenticate(ctx, key.Key); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Fatalf("a revoked key: got %v, want ENOTFOUND", err)
	}

}

// TestWritePathCacheAcrossProcesses: a campaign archived by another
// process sharing the database refuses submissions within a second.
func TestWritePathCacheAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	s, other := storetest.Open(t, dsn), storetest.Open(t, dsn)
	acct := storetest.Account(t, s, "acme")
	o, err := s.CreateOptin(ctx, acct.ID, assent.Optin{Name: "Rules", Language: "en", Text: "Rules",
		Display: assent.DisplayCheckbox, Mandatory: true, Subcategories: []string{"legal"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateCampaign(ctx, acct.ID, assent.Campaign{Name: "Contest", Language: "en", Optins: []string{o.ID}})
	if err != nil {
		t.Fatal(err)
	}
	sub := func(email string) assent.Submission {
		return assent.Submission{Email: email, Answers: map[string]*bool{o.ID: yes()}}
	}
	if _, _, err := s.Participate(ctx, acct.ID, c.ID, sub("c@example.com")); err != nil {
		t.Fatal(err)
	}
	if _, err := other.UpdateCampaign(ctx, acct.ID, c.ID, func(c *assent.Campaign) error {
		c.Status = assent.StatusArchived
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, _, err := s.Participate(ctx, acct.ID, c.ID, sub("d@example.com")); assent.ErrorCode(err) != assent.EINVALID {
		t.Fatalf("a campaign archived by another process a second ago: got %v, want EINVALID", err)
	}
}
