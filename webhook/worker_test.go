package webhook_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
	"github.com/assentdev/assent/store/storetest"
	"github.com/assentdev/assent/webhook"
)

// openStore opens a second handle on the database of dsn, as another
// process would, and returns it with a function that closes it (once).
func openStore(t *testing.T, dsn string) (*store.Store, func()) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	closeIt := func() { once.Do(func() { st.Close() }) }
	t.Cleanup(closeIt)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.LoadStats(ctx); err != nil {
		t.Fatal(err)
	}
	return st, closeIt
}

// waitFor polls cond until it holds, failing the test after 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20 s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestTestEventAndReplay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	rc := newReceiver(t, nil)
	e := f.endpoint(rc.URL, nil, assent.WebhookParticipationCreated)
	d := f.dispatcher()

	test, err := f.st.SendTestEvent(ctx, f.account.ID, e.ID)
	if err != nil || test.EndpointID != e.ID || test.EventID == "" {
		t.Fatalf("test event: got %+v (%v)", test, err)
	}
	f.deliver(d)
	calls := rc.got()
	if len(calls) != 1 {
		t.Fatalf("calls after the test event: got %d, want 1", len(calls))
	}
	body := decode(t, calls[0])
	if body["type"] != "webhook.test" || at(body, "data.endpoint_id") != e.ID || body["id"] != test.EventID {
		t.Errorf("test event: got %s", calls[0].body)
	}
	if err := verify(e.Secret, calls[0]); err != nil {
		t.Errorf("test event signature: %v", err)
	}

	f.participate("ada@example.com", f.rules)
	f.deliver(d)
	calls = rc.got()
	original := calls[1]
	eventID := original.header.Get("Webhook-Id")
	ds, err := f.st.ReplayEvent(ctx, f.account.ID, eventID, "")
	if err != nil || len(ds) != 1 || ds[0].EndpointID != e.ID {
		t.Fatalf("replay: got %+v (%v), want one delivery to the endpoint", ds, err)
	}
	f.deliver(d)
	calls = rc.got()
	if len(calls) != 3 {
		t.Fatalf("calls after the replay: got %d, want 3", len(calls))
	}
	if got := calls[2]; got.header.Get("Webhook-Id") != eventID || !bytes.Equal(got.body, original.body) {
		t.Errorf("replay: got id %s and body %s, want the original %s and %s", got.header.Get("Webhook-Id"), got.body,
			eventID, original.body)
	}

	// To an endpoint named, even one that does not take this type.
	rc2 := newReceiver(t, nil)
	e2 := f.endpoint(rc2.URL, nil, assent.WebhookConsentWithdrawn)
	if _, err := f.st.ReplayEvent(ctx, f.account.ID, eventID, e2.ID); err != nil {
		t.Fatal(err)
	}
	f.deliver(d)
	if calls := rc2.got(); len(calls) != 1 || calls[0].header.Get("Webhook-Id") != eventID || verify(e2.Secret, calls[0]) != nil {
		t.Errorf("replay to another endpoint: got %d calls", len(calls))
	}
	if len(rc.got()) != 3 {
		t.Errorf("replay to another endpoint also went to the first")
	}

	other := storetest.Account(t, f.st, "other")
	foreign, err := f.st.CreateWebhook(ctx, other.ID, assent.WebhookEndpoint{URL: "https://other.example/hook",
		Events: assent.WebhookEventTypes, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	disabled := f.endpoint(rc.URL, nil)
	if _, err := f.st.UpdateWebhook(ctx, f.account.ID, disabled.ID, func(e *assent.WebhookEndpoint) { e.Enabled = false }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                string
		account, event, end string
		want                string
	}{
		{"unknown event", f.account.ID, "evt_nope", "", assent.ENOTFOUND},
		{"another account's event", other.ID, eventID, "", assent.ENOTFOUND},
		{"unknown endpoint", f.account.ID, eventID, "whk_nope", assent.EINVALID},
		{"another account's endpoint", f.account.ID, eventID, foreign.ID, assent.EINVALID},
		{"disabled endpoint", f.account.ID, eventID, disabled.ID, assent.ECONFLICT},
	}
	for _, tt := range tests {
		if _, err := f.st.ReplayEvent(ctx, tt.account, tt.event, tt.end); assent.ErrorCode(err) != tt.want {
			t.Errorf("replay, %s: got %v, want %s", tt.name, err, tt.want)
		}
	}
	if _, err := f.st.SendTestEvent(ctx, f.account.ID, disabled.ID); assent.ErrorCode(err) != assent.ECONFLICT {
		t.Errorf("test event to a disabled endpoint: got %v, want ECONFLICT", err)
	}
	if _, err := f.st.SendTestEvent(ctx, other.ID, e.ID); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Errorf("test event to another account's endpoint: got %v, want ENOTFOUND", err)
	}
}

func TestRotatedSecretSignsWithBoth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	rc := newReceiver(t, nil)
	e := f.endpoint(rc.URL, nil)
	rotated, err := f.st.RotateWebhookSecret(ctx, f.account.ID, e.ID)
	if err != nil || rotated.Secret == e.Secret || !strings.HasPrefix(rotated.Secret, "whsec_") {
		t.Fatalf("rotate: got %q (%v), want a new whsec_ secret", rotated.Secret, err)
	}
	if got, _ := f.st.Webhook(ctx, f.account.ID, e.ID); got.Secret != "" {
		t.Errorf("the secret is shown again: %q", got.Secret)
	}
	d := f.dispatcher()
	send := func() call {
		t.Helper()
		if _, err := f.st.SendTestEvent(ctx, f.account.ID, e.ID); err != nil {
			t.Fatal(err)
		}
		f.deliver(d)
		calls := rc.got()
		return calls[len(calls)-1]
	}
	c := send()
	if verify(e.Secret, c) != nil || verify(rotated.Secret, c) != nil {
		t.Errorf("within a day of the rotation: got %q, want signatures with both secrets", c.header.Get("Webhook-Signature"))
	}
	f.clock.Add(store.PreviousSecretTTL + time.Second)
	c = send()
	if verify(rotated.Secret, c) != nil || verify(e.Secret, c) == nil {
		t.Errorf("a day after the rotation: got %q, want a signature with the new secret only", c.header.Get("Webhook-Signature"))
	}
}

func TestDisabledEndpointPauses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	rc := newReceiver(t, nil)
	e := f.endpoint(rc.URL, nil)
	d := f.dispatcher()
	ada := f.participate("ada@example.com", f.rules)
	enable := func(on bool) {
		t.Helper()
		if _, err := f.st.UpdateWebhook(ctx, f.account.ID, e.ID, func(e *assent.WebhookEndpoint) { e.Enabled = on }); err != nil {
			t.Fatal(err)
		}
	}
	enable(false)
	if n := f.deliver(d); n != 0 {
		t.Errorf("disabled: got %d attempts, want 0", n)
	}
	f.participate("bo@example.com", f.rules) // not queued for a disabled endpoint
	if got, _ := f.st.Webhook(ctx, f.account.ID, e.ID); got.PendingDeliveries != 1 || got.Enabled {
		t.Errorf("disabled: got %d pending (enabled %v), want 1, paused", got.PendingDeliveries, got.Enabled)
	}
	enable(true)
	if n := f.deliver(d); n != 1 {
		t.Fatalf("enabled again: got %d attempts, want 1", n)
	}
	if calls := rc.got(); len(calls) != 1 || at(decode(t, calls[0]), "data.participation.id") != ada.ID {
		t.Errorf("enabled again: got %d calls, want ada's participation", len(calls))
	}
}

func TestErasure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	rc := newReceiver(t, nil)
	e := f.endpoint(rc.URL, nil)
	d := f.dispatcher()
	ada := f.participate("ada@example.com", f.rules)
	f.deliver(d)
	sent := rc.got()[0].header.Get("Webhook-Id")
	bo := f.participate("bo@example.com", f.rules)
	if err := f.st.Erase(ctx, f.account.ID, bo.ParticipantID); err != nil {
		t.Fatal(err)
	}
	if n := f.deliver(d); n != 0 {
		t.Errorf("an erased participant's event went out: %d attempts", n)
	}
	if got, _ := f.st.Webhook(ctx, f.account.ID, e.ID); got.PendingDeliveries != 0 {
		t.Errorf("pending after the erasure: got %d, want 0", got.PendingDeliveries)
	}
	// What went out before stays replayable, without the personal data.
	if err := f.st.Erase(ctx, f.account.ID, ada.ParticipantID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.ReplayEvent(ctx, f.account.ID, sent, ""); err != nil {
		t.Fatal(err)
	}
	f.deliver(d)
	body := decode(t, rc.got()[1])
	for path, want := range map[string]any{"id": sent, "data.participant.id": ada.ParticipantID,
		"data.participant.email": "", "data.participant.first_name": "", "data.participant.last_name": "",
		"data.participant.preferences_url": "", "data.participation.user_agent": "", "data.optins.2.id": f.rules.ID} {
		if got := at(body, path); got != want {
			t.Errorf("replayed after erasure, %s: got %#v, want %#v", path, got, want)
		}
	}
	if bytes.Contains(rc.got()[1].body, []byte("ada@example.com")) {
		t.Errorf("the email survives in the replayed body: %s", rc.got()[1].body)
	}
}

// TestTwoWorkersDeliverOnce runs two dispatchers on two handles of one
// database, as two processes would, and checks that each event goes out
// exactly once.
func TestTwoWorkersDeliverOnce(t *testing.T) {
	t.Parallel()
	dsn := storetest.DSN(t)
	st1, _ := openStore(t, dsn)
	st2, _ := openStore(t, dsn)
	f := newFixtureOn(t, st1)
	st2.Now = f.clock.Now
	// The first calls wait until five are in flight at once: more than one
	// worker's Concurrency, so both must be claiming side by side.
	var mu sync.Mutex
	var once sync.Once
	inflight := 0
	together := make(chan struct{})
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		// Five in flight may happen again later: the channel closes once
		// (closing it twice panicked with mu held, and the test hung).
		if inflight++; inflight == 5 {
			once.Do(func() { close(together) })
		}
		mu.Unlock()
		select {
		case <-together:
		case <-time.After(5 * time.Second):
		}
		mu.Lock()
		inflight--
		mu.Unlock()
		w.Write([]byte("ok"))
	})
	f.endpoint(rc.URL, nil, assent.WebhookParticipationCreated)
	const n = 60
	for i := range n {
		f.participate("p"+string(rune('a'+i%26))+string(rune('a'+i/26))+"@example.com", f.rules)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var logs [2]syncBuffer
	var running sync.WaitGroup
	for i, st := range []*store.Store{st1, st2} {
		d := webhook.New(st, slog.New(slog.NewTextHandler(&logs[i], nil)))
		d.Concurrency, d.Interval = 4, 10*time.Millisecond
		running.Go(func() { d.Run(ctx) })
	}
	distinct := func() map[string]int {
		seen := map[string]int{}
		for _, c := range rc.got() {
			seen[c.header.Get("Webhook-Id")]++
		}
		return seen
	}
	waitFor(t, "every event", func() bool { return len(distinct()) == n })
	time.Sleep(100 * time.Millisecond) // a duplicate would show by now
	cancel()
	running.Wait()
	for id, times := range distinct() {
		if times != 1 {
			t.Errorf("event %s: got %d calls, want 1", id, times)
		}
	}
	if got := len(rc.got()); got != n {
		t.Errorf("calls: got %d, want %d", got, n)
	}
	select {
	case <-together:
	default:
		t.Error("never more than 4 calls in flight: the two workers did not work side by side")
	}
	for i := range logs {
		if !strings.Contains(logs[i].String(), "webhook: delivered") {
			t.Errorf("worker %d delivered nothing; want both to share the work. Its log:\n%s", i+1, logs[i].String())
		}
	}
}

// TestKilledWorkerLosesNothing claims a delivery and drops the process
// that claimed it: another process sends it once the lease runs out.
func TestKilledWorkerLosesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	st1, kill := openStore(t, dsn)
	f := newFixtureOn(t, st1)
	rc := newReceiver(t, nil)
	e := f.endpoint(rc.URL, nil)
	f.participate("ada@example.com", f.rules)
	claimed, err := st1.ClaimDeliveries(ctx, 10, time.Minute)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: got %d (%v), want 1", len(claimed), err)
	}
	kill() // mid-delivery: nothing is sent, nothing recorded

	st2, _ := openStore(t, dsn)
	st2.Now = f.clock.Now
	d := webhook.New(st2, quiet())
	if n, err := d.DeliverDue(ctx); err != nil || n != 0 {
		t.Fatalf("within the lease: got %d attempts (%v), want 0", n, err)
	}
	f.clock.Add(time.Minute)
	if n, err := d.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("after the lease: got %d attempts (%v), want 1", n, err)
	}
	calls := rc.got()
	if len(calls) != 1 || calls[0].header.Get("Webhook-Id") != claimed[0].EventID || verify(e.Secret, calls[0]) != nil {
		t.Fatalf("got %d calls, want the claimed event, signed", len(calls))
	}
	log, _, err := st2.WebhookAttempts(ctx, f.account.ID, e.ID, store.Page{})
	if err != nil || len(log) != 1 || !log[0].Success || log[0].Attempt != 1 {
		t.Errorf("log: got %+v (%v), want one successful first attempt", log, err)
	}
}

// TestShutdownFinishesCallsInFlight stops Run while a call is in flight:
// Run waits for the answer and records it.
func TestShutdownFinishesCallsInFlight(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	release := make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		<-release
		w.Write([]byte("done"))
	})
	e := f.endpoint(rc.URL, nil)
	d := f.dispatcher()
	d.Interval = time.Hour // only the store's signal can wake it
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		d.Run(ctx)
		close(stopped)
	}()
	f.participate("ada@example.com", f.rules)
	waitFor(t, "the call", func() bool { return len(rc.got()) == 1 })
	cancel()
	select {
	case <-stopped:
		t.Fatal("Run returned with a call in flight")
	case <-time.After(100 * time.Millisecond):
	}
	releaseOnce.Do(func() { close(release) })
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return once the call was answered")
	}
	if log := f.attempts(e.ID); len(log) != 1 || !log[0].Success || log[0].DeliveryState != "delivered" {
		t.Errorf("log: got %+v, want the call recorded as delivered", log)
	}
}

// TestShutdownReleasesAbandonedCalls stops Run with a short grace while a
// receiver hangs: the delivery is released, not counted as an attempt, and
// the next worker sends it.
func TestShutdownReleasesAbandonedCalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			<-r.Context().Done() // hangs until the caller gives up
			return
		}
		w.Write([]byte("ok"))
	})
	e := f.endpoint(rc.URL, nil)
	d := f.dispatcher()
	d.Timeout, d.Grace = 10*time.Second, 50*time.Millisecond
	runCtx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() {
		d.Run(runCtx)
		close(stopped)
	}()
	f.participate("ada@example.com", f.rules)
	waitFor(t, "the call", func() bool { return len(rc.got()) == 1 })
	cancel()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not give up the hanging call after its grace")
	}
	if log := f.attempts(e.ID); len(log) != 0 {
		t.Errorf("log: got %+v, want no attempt for an abandoned call", log)
	}
	if got, _ := f.st.Webhook(ctx, f.account.ID, e.ID); got.PendingDeliveries != 1 {
		t.Errorf("pending: got %d, want the delivery pending", got.PendingDeliveries)
	}
	if n := f.deliver(f.dispatcher()); n != 1 {
		t.Fatalf("next worker: got %d attempts, want the released delivery at once", n)
	}
	calls := rc.got()
	if len(calls) != 2 || calls[1].header.Get("Webhook-Id") != calls[0].header.Get("Webhook-Id") {
		t.Errorf("got %d calls, want the same event twice", len(calls))
	}
	if log := f.attempts(e.ID); len(log) != 1 || log[0].Attempt != 1 || !log[0].Success {
		t.Errorf("log: got %+v, want one successful first attempt", log)
	}
}
