package store_test

import (
	"context"
	"strings"
	"testing"

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
