package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
	"github.com/assentdev/assent/store/storetest"
)

// hook registers an endpoint of the fixture's account.
func (f *formFixture) hook(t *testing.T, categories []string, events ...string) assent.WebhookEndpoint {
	t.Helper()
	e, err := f.s.CreateWebhook(context.Background(), f.account.ID, assent.WebhookEndpoint{URL: "https://hooks.example.com/a",
		Events: events, Categories: categories, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestOutbox checks what a participation writes to the outbox: nothing
// without an endpoint that wants it, else one event and one delivery per
// endpoint that wants it, in the same commit (group-committed here).
func TestOutbox(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		endpoints      [][]string // per endpoint: events, then "|" and categories
		events, queued int        // per participation accepting the newsletter and the rules
	}{
		{"no endpoint", nil, 0, 0},
		{"consent events only", [][]string{{assent.WebhookConsentWithdrawn}}, 0, 0},
		{"one endpoint", [][]string{{assent.WebhookParticipationCreated}}, 1, 1},
		{"two endpoints", [][]string{{assent.WebhookParticipationCreated}, {assent.WebhookParticipationCreated, "|", "legal"}}, 1, 2},
		{"filtered out", [][]string{{assent.WebhookParticipationCreated, "|", "partners"}}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFormFixture(t)
			for _, spec := range tt.endpoints {
				var events, categories []string
				into := &events
				for _, s := range spec {
					if s == "|" {
						into = &categories
						continue
					}
					*into = append(*into, s)
				}
				f.hook(t, categories, events...)
			}
			const n = 20
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					_, _, err := f.s.Participate(context.Background(), f.account.ID, f.campaign.ID,
						f.submit(fmt.Sprintf("p%d@example.com", i), map[string]*bool{f.newsletter.ID: yes(), f.rules.ID: yes(),
							f.partners.ID: no(), f.daily.ID: no()}))
					if err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if got := storetest.Count(t, f.s, "webhook_events"); got != n*tt.events {
				t.Errorf("events: got %d, want %d", got, n*tt.events)
			}
			if got := storetest.Count(t, f.s, "webhook_deliveries"); got != n*tt.queued {
				t.Errorf("deliveries: got %d, want %d", got, n*tt.queued)
			}
		})
	}
}

// TestClaimDeliveries checks that a claim takes at most its limit, that
// claims never overlap, from one handle or two on one database, and that
// a lease that runs out makes a delivery claimable again.
func TestClaimDeliveries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	open := func() *store.Store {
		s, err := store.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s1, s2 := open(), open()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	s1.Now, s2.Now = clock, clock
	a := storetest.Account(t, s1, "acme")
	e, err := s1.CreateWebhook(ctx, a.ID, assent.WebhookEndpoint{URL: "https://hooks.example.com/a", Events: []string{"x"}})
	if err == nil {
		t.Fatal("an unknown event type was accepted")
	}
	e, err = s1.CreateWebhook(ctx, a.ID, assent.WebhookEndpoint{URL: "https://hooks.example.com/a",
		Events: assent.WebhookEventTypes, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	for range n {
		if _, err := s1.SendTestEvent(ctx, a.ID, e.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, limit := range []int{1, 3, 7} {
		got, err := s1.ClaimDeliveries(ctx, limit, time.Minute)
		if err != nil || len(got) != limit {
			t.Fatalf("claim %d: got %d (%v)", limit, len(got), err)
		}
		if err := s1.RecordDeliveries(ctx, releaseAll(got)); err != nil {
			t.Fatal(err)
		}
	}
	// Eight claimers on two handles take every delivery exactly once.
	seen := map[string]int{}
	var smu sync.Mutex
	var wg sync.WaitGroup
	for i := range 8 {
		s := []*store.Store{s1, s2}[i%2]
		wg.Go(func() {
			for {
				got, err := s.ClaimDeliveries(ctx, 3, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				if len(got) > 3 {
					t.Errorf("claim 3: got %d", len(got))
				}
				smu.Lock()
				for _, d := range got {
					seen[d.ID]++
				}
				smu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("claimed: got %d deliveries, want %d", len(seen), n)
	}
	for id, times := range seen {
		if times != 1 {
			t.Errorf("delivery %s claimed %d times, want once", id, times)
		}
	}
	// The leases run out: every delivery is due again.
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	got, err := s2.ClaimDeliveries(ctx, 100, time.Minute)
	if err != nil || len(got) != n {
		t.Errorf("after the leases: got %d (%v), want %d", len(got), err, n)
	}
}

func releaseAll(ds []store.Delivery) []store.DeliveryResult {
	out := make([]store.DeliveryResult, len(ds))
	for i, d := range ds {
		out[i] = store.DeliveryResult{DeliveryID: d.ID, Lease: d.Lease, Released: true}
	}
	return out
}

// TestRecordUnderLostLease: a worker whose lease ran out and whose
// delivery another worker took logs its attempt, but changes nothing else.
func TestRecordUnderLostLease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	e := f.hook(t, nil, assent.WebhookParticipationCreated)
	f.participate(t, "ada@example.com", true, false)
	slow, err := f.s.ClaimDeliveries(ctx, 1, -time.Second) // a lease already over
	if err != nil || len(slow) != 1 {
		t.Fatalf("claim: %d %v", len(slow), err)
	}
	fast, err := f.s.ClaimDeliveries(ctx, 1, time.Hour)
	if err != nil || len(fast) != 1 || fast[0].ID != slow[0].ID || fast[0].Lease == slow[0].Lease {
		t.Fatalf("claim again after the lease: %+v %v", fast, err)
	}
	retry := time.Now().Add(time.Hour)
	if err := f.s.RecordDeliveries(ctx, []store.DeliveryResult{{DeliveryID: slow[0].ID, Lease: slow[0].Lease, Attempt: 1,
		EndpointID: e.ID, EventID: slow[0].EventID, At: time.Now(), StatusCode: 500, RetryAt: &retry}}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.RecordDeliveries(ctx, []store.DeliveryResult{{DeliveryID: fast[0].ID, Lease: fast[0].Lease, Attempt: 1,
		EndpointID: e.ID, EventID: fast[0].EventID, At: time.Now(), StatusCode: 200, Success: true}}); err != nil {
		t.Fatal(err)
	}
	log, _, err := f.s.WebhookAttempts(ctx, f.account.ID, e.ID, store.Page{})
	if err != nil || len(log) != 2 || log[0].DeliveryState != assent.DeliveryDelivered {
		t.Errorf("log: got %+v (%v), want both attempts and the delivery delivered", log, err)
	}
}

// TestWebhookDeliveries checks the delivery log of an endpoint: newest
// first, a delivery shown as soon as it is queued, its last answer, when
// it is tried next, paused while the endpoint is disabled, page by page.
func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	e := f.hook(t, nil, assent.WebhookParticipationCreated)
	f.participate(t, "ada@example.com", true, false)
	claimed, err := f.s.ClaimDeliveries(ctx, 10, time.Minute)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %d %v", len(claimed), err)
	}
	retry := time.Now().Add(5 * time.Minute).Truncate(time.Microsecond)
	if err := f.s.RecordDeliveries(ctx, []store.DeliveryResult{{DeliveryID: claimed[0].ID, Lease: claimed[0].Lease, Attempt: 1,
		EndpointID: e.ID, EventID: claimed[0].EventID, At: time.Now(), StatusCode: 502, Error: "bad gateway",
		RetryAt: &retry}}); err != nil {
		t.Fatal(err)
	}
	test, err := f.s.SendTestEvent(ctx, f.account.ID, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	list, next, err := f.s.WebhookDeliveries(ctx, f.account.ID, e.ID, store.Page{})
	if err != nil || len(list) != 2 || next != "" {
		t.Fatalf("got %d deliveries, next %q (%v); want 2", len(list), next, err)
	}
	queued, failed := list[0], list[1]
	if queued.ID != test.ID || queued.EventType != assent.WebhookTest || queued.Attempts != 0 || queued.LastAttemptAt != nil ||
		queued.LastStatusCode != nil || queued.NextAt == nil || queued.State != assent.DeliveryPending {
		t.Errorf("queued test event: got %+v", queued)
	}
	if failed.ID != claimed[0].ID || failed.EventType != assent.WebhookParticipationCreated || failed.Attempts != 1 ||
		failed.LastStatusCode == nil || *failed.LastStatusCode != 502 || failed.LastError != "bad gateway" ||
		failed.LastAttemptAt == nil || failed.NextAt == nil || !failed.NextAt.Equal(retry) {
		t.Errorf("failed once: got %+v, want 1 attempt, 502 and the retry at %v", failed, retry)
	}
	// Disabled, the endpoint's deliveries wait with no time set.
	if _, err := f.s.UpdateWebhook(ctx, f.account.ID, e.ID, func(e *assent.WebhookEndpoint) { e.Enabled = false }); err != nil {
		t.Fatal(err)
	}
	page1, cursor, err := f.s.WebhookDeliveries(ctx, f.account.ID, e.ID, store.Page{Limit: 1})
	if err != nil || len(page1) != 1 || cursor == "" || page1[0].NextAt != nil {
		t.Fatalf("page 1 while disabled: got %+v, %q (%v)", page1, cursor, err)
	}
	page2, cursor, err := f.s.WebhookDeliveries(ctx, f.account.ID, e.ID, store.Page{Limit: 1, Cursor: cursor})
	if err != nil || len(page2) != 1 || cursor != "" || page2[0].ID != failed.ID {
		t.Errorf("page 2: got %+v, %q (%v), want the older delivery and no more", page2, cursor, err)
	}
	other := storetest.Account(t, f.s, "other")
	if _, _, err := f.s.WebhookDeliveries(ctx, other.ID, e.ID, store.Page{}); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Errorf("another account: got %v, want ENOTFOUND", err)
	}
}
