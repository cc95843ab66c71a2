package webhook_test

import (
	"context"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
	"github.com/assentdev/assent/webhook"
)

// TestSignStandardWebhooksVector checks Sign against the example of the
// Standard Webhooks specification.
func TestSignStandardWebhooksVector(t *testing.T) {
	t.Parallel()
	got, err := webhook.Sign([]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
		[]byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; err != nil || got != want {
		t.Errorf("got %q (%v), want %q", got, err, want)
	}
}

func TestParticipationCreatedPayload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	// Two edits of the newsletter's text: the payload carries version 3 and
	// the text the participant read.
	for _, text := range []string{"Weekly news, v2", "Send me the weekly newsletter"} {
		var err error
		if f.news, err = f.st.UpdateOptin(ctx, f.account.ID, f.news.ID, func(o *assent.Optin) { o.Text = text }); err != nil {
			t.Fatal(err)
		}
	}
	rc := newReceiver(t, nil)
	e := f.endpoint(rc.URL, nil)
	// Two marketing opt-ins accepted, partners refused.
	r := f.participate(" Ada@Example.com", f.news, f.promo, f.rules)
	if n := f.deliver(f.dispatcher()); n != 1 {
		t.Fatalf("attempts: got %d, want 1", n)
	}
	calls := rc.got()
	if len(calls) != 1 {
		t.Fatalf("calls: got %d, want 1", len(calls))
	}
	c := calls[0]
	if err := verify(e.Secret, c); err != nil {
		t.Errorf("signature: %v", err)
	}
	body := decode(t, c)
	for _, h := range []struct{ name, want string }{
		{"Webhook-Id", body["id"].(string)},
		{"Webhook-Timestamp", strconv.FormatInt(f.clock.Now().Unix(), 10)},
		{"X-Receiver-Token", "let me in"},
		{"Content-Type", "application/json"},
	} {
		if got := c.header.Get(h.name); got != h.want {
			t.Errorf("header %s: got %q, want %q", h.name, got, h.want)
		}
	}
	proof, err := f.st.Proof(ctx, f.account.ID, r.ParticipantID)
	if err != nil {
		t.Fatal(err)
	}
	token, err := f.st.PreferencesToken(ctx, f.account.ID, r.ParticipantID)
	if err != nil {
		t.Fatal(err)
	}
	// Every field of the example of SPEC §7.
	want := []struct {
		path string
		want any
	}{
		{"type", "participation.created"},
		{"created_at", "2026-11-25T10:00:00Z"},
		{"data.participation.id", r.ID},
		{"data.participation.created_at", "2026-11-25T10:00:00Z"},
		{"data.participation.ip_hash", proof.Participations[0].IPHash},
		{"data.participation.user_agent", "Mozilla/5.0 (test)"},
		{"data.participation.utm.source", "newsletter"},
		{"data.participation.utm.medium", "email"},
		{"data.participation.utm.campaign", "xmas"},
		{"data.participation.utm.term", "contest"},
		{"data.participation.utm.content", "banner"},
		{"data.campaign.id", f.campaign.ID},
		{"data.campaign.name", "Xmas contest"},
		{"data.campaign.language", "en"},
		{"data.campaign.type", "contest"},
		{"data.participant.id", r.ParticipantID},
		{"data.participant.email", "ada@example.com"},
		{"data.participant.first_name", "Ada"},
		{"data.participant.last_name", "Lovelace"},
		{"data.participant.new", true},
		{"data.participant.preferences_url", "https://assent.example/preferences/" + token},
		{"data.optins.0.id", f.news.ID},
		{"data.optins.0.name", "Weekly newsletter"},
		{"data.optins.0.variable", "my_newsletter"},
		{"data.optins.0.version", 3.0},
		{"data.optins.0.text", "Send me the weekly newsletter"},
		{"data.optins.0.response", true},
		{"data.optins.0.state", "given"},
		{"data.optins.0.categories.0.value", "weekly-news"},
		{"data.optins.0.categories.0.name", "Weekly news"},
		{"data.optins.0.categories.0.parent.key", "newsletter_marketing"},
		{"data.optins.0.categories.0.parent.name", "Newsletter & marketing"},
		{"data.optins.1.id", f.promo.ID},
		{"data.optins.1.response", true},
		{"data.optins.1.categories.0.value", "newsletter_marketing"},
		{"data.optins.1.categories.0.name", "Newsletter & marketing"},
		{"data.optins.2.id", f.rules.ID},
		{"data.optins.2.categories.0.parent.key", "legal"},
		{"data.optins.3.id", f.partners.ID},
		{"data.optins.3.response", false},
		{"data.optins.3.state", "refused"},
		{"data.optins.3.categories.0.parent.name", "Partners"},
		{"data.optins.4.id", f.daily.ID},
		{"data.optins.4.response", false},
		{"data.categories", map[string]any{"newsletter_marketing": true, "legal": true, "partners": false, "others": false}},
		{"data.subcategories", map[string]any{"weekly-news": true, "newsletter_marketing": true, "legal": true,
			"partners": false}},
	}
	for _, w := range want {
		if got := at(body, w.path); !reflect.DeepEqual(got, w.want) {
			t.Errorf("%s: got %#v, want %#v", w.path, got, w.want)
		}
	}
	if got := len(at(body, "data.optins").([]any)); got != 5 {
		t.Errorf("optins: got %d, want the 5 of the form", got)
	}
	// The link opens the participant's preferences.
	u := at(body, "data.participant.preferences_url").(string)
	if p, err := f.st.ParticipantByPreferencesToken(ctx, strings.TrimPrefix(u, "https://assent.example/preferences/")); err != nil || p.ID != r.ParticipantID {
		t.Errorf("preferences_url opens: got %v (%v), want participant %s", p.ID, err, r.ParticipantID)
	}

	// The same person again, accepting partners (and the rules) only: new
	// is false now, and the categories follow this participation's answers,
	// not the history.
	f.participate("ada@example.com", f.rules, f.partners)
	f.deliver(f.dispatcher())
	calls = rc.got()
	if len(calls) != 2 {
		t.Fatalf("calls: got %d, want 2", len(calls))
	}
	body = decode(t, calls[1])
	for _, w := range []struct {
		path string
		want any
	}{
		{"data.participant.new", false},
		{"data.optins.0.response", false},
		{"data.optins.0.state", "given"}, // a refusal is no withdrawal
		{"data.categories", map[string]any{"newsletter_marketing": false, "legal": true, "partners": true, "others": false}},
		{"data.subcategories", map[string]any{"weekly-news": false, "newsletter_marketing": false, "legal": true,
			"partners": true}},
	} {
		if got := at(body, w.path); !reflect.DeepEqual(got, w.want) {
			t.Errorf("second participation, %s: got %#v, want %#v", w.path, got, w.want)
		}
	}
}

func TestUnansweredRadioIsNull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	rc := newReceiver(t, nil)
	f.endpoint(rc.URL, nil, assent.WebhookParticipationCreated)
	answers := map[string]*bool{f.news.ID: no(), f.promo.ID: no(), f.rules.ID: yes(), f.partners.ID: nil, f.daily.ID: no()}
	if _, _, err := f.st.Participate(ctx, f.account.ID, f.campaign.ID, assent.Submission{Email: "bo@example.com",
		Answers: answers}); err != nil {
		t.Fatal(err)
	}
	f.deliver(f.dispatcher())
	body := decode(t, rc.got()[0])
	if got, ok := at(body, "data.optins.3").(map[string]any)["response"]; !ok || got != nil {
		t.Errorf("response of an unanswered radio: got %#v (present %v), want null", got, ok)
	}
	if got := at(body, "data.participant.first_name"); got != "" {
		t.Errorf("first_name not given: got %#v, want \"\"", got)
	}
}

func TestConsentEventPayloads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	rc := newReceiver(t, nil)
	e := f.endpoint(rc.URL, nil, assent.WebhookConsentConfirmed, assent.WebhookConsentExpired, assent.WebhookConsentWithdrawn)
	ada := f.participate("ada@example.com", f.news, f.rules, f.daily)
	mails, err := f.st.DueMails(ctx, 10)
	if err != nil || len(mails) != 1 {
		t.Fatalf("confirmation emails: got %v (%v), want 1", mails, err)
	}
	adaToken := mails[0].Token
	var expiredAt time.Time
	tests := []struct {
		name   string
		act    func() string // returns the participant id
		want   map[string]any
		optins []string
	}{
		{"confirmed", func() string {
			if _, err := f.st.Confirm(ctx, adaToken); err != nil {
				t.Fatal(err)
			}
			return ada.ParticipantID
		}, map[string]any{
			"type": "consent.confirmed", "data.state": "given", "data.source": "confirmation",
			"data.participation_id": ada.ID, "data.campaign.id": f.campaign.ID, "data.campaign.name": "Xmas contest",
			"data.optins.0.state": "given", "data.optins.0.variable": "", "data.optins.0.version": 1.0,
			"data.optins.0.text":                     "Daily deals: I agree",
			"data.optins.0.categories.0.value":       "newsletter_marketing",
			"data.optins.0.categories.0.parent.key":  "newsletter_marketing",
			"data.optins.0.categories.0.parent.name": "Newsletter & marketing",
			"data.categories.newsletter_marketing":   true,
			"data.categories.legal":                  false,
			"data.subcategories":                     map[string]any{"newsletter_marketing": true},
			"data.participant.email":                 "ada@example.com",
			"data.participant.first_name":            "Ada",
			"data.participant.last_name":             "Lovelace",
			"data.participant.new":                   nil,
		}, []string{f.daily.ID}},
		{"withdrawn", func() string {
			// The text changes after Ada confirmed it: her withdrawal names
			// the version she accepted, as the ledger does, not today's.
			if _, err := f.st.UpdateOptin(ctx, f.account.ID, f.daily.ID, func(o *assent.Optin) { o.Text = "Daily deals, v2" }); err != nil {
				t.Fatal(err)
			}
			if _, err := f.st.Withdraw(ctx, f.account.ID, ada.ParticipantID, nil, true, assent.SourceAPI); err != nil {
				t.Fatal(err)
			}
			return ada.ParticipantID
		}, map[string]any{
			"type": "consent.withdrawn", "data.state": "withdrawn", "data.source": "api", "data.participation_id": nil,
			"data.campaign": nil, "data.optins.0.state": "withdrawn", "data.optins.0.variable": "my_newsletter",
			"data.optins.0.categories.0.value": "weekly-news", "data.optins.0.categories.0.name": "Weekly news",
			"data.categories":       map[string]any{"newsletter_marketing": true, "legal": true, "partners": false, "others": false},
			"data.subcategories":    map[string]any{"weekly-news": true, "legal": true, "newsletter_marketing": true},
			"data.optins.2.version": 1.0, "data.optins.2.text": "Daily deals: I agree",
		}, []string{f.news.ID, f.rules.ID, f.daily.ID}},
		{"expired", func() string {
			bo := f.participate("bo@example.com", f.rules, f.daily)
			expiredAt = f.clock.Now().Add(store.DefaultConfirmationTTL)
			f.deliver(f.dispatcher()) // nothing: this endpoint does not take participations
			f.clock.Add(8 * 24 * time.Hour)
			if n, err := f.st.ExpireConfirmations(ctx); err != nil || n != 1 {
				t.Fatalf("expire: got %d (%v), want 1", n, err)
			}
			return bo.ParticipantID
		}, map[string]any{
			"type": "consent.expired", "data.state": "expired", "data.source": "expiry", "data.optins.0.state": "expired",
			"data.campaign.type": "contest", "data.participant.email": "bo@example.com",
			"data.categories.newsletter_marketing": true,
		}, []string{f.daily.ID}},
	}
	for i, tt := range tests {
		participant := tt.act()
		if n := f.deliver(f.dispatcher()); n != 1 {
			t.Fatalf("%s: attempts: got %d, want 1", tt.name, n)
		}
		calls := rc.got()
		if len(calls) != i+1 {
			t.Fatalf("%s: calls: got %d, want %d", tt.name, len(calls), i+1)
		}
		c := calls[i]
		if err := verify(e.Secret, c); err != nil {
			t.Errorf("%s: signature: %v", tt.name, err)
		}
		body := decode(t, c)
		token, _ := f.st.PreferencesToken(ctx, f.account.ID, participant)
		tt.want["data.participant.id"] = participant
		tt.want["data.participant.preferences_url"] = "https://assent.example/preferences/" + token
		created := f.clock.Now()
		if tt.name == "expired" {
			created = expiredAt // an expiry is dated when the confirmation ran out, not when the job came by
		}
		tt.want["created_at"] = created.Format(time.RFC3339)
		for path, want := range tt.want {
			if got := at(body, path); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %s: got %#v, want %#v", tt.name, path, got, want)
			}
		}
		var ids []string
		for _, o := range at(body, "data.optins").([]any) {
			ids = append(ids, o.(map[string]any)["id"].(string))
		}
		if !reflect.DeepEqual(ids, tt.optins) {
			t.Errorf("%s: optins: got %v, want %v", tt.name, ids, tt.optins)
		}
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	type target struct {
		name       string
		categories []string
		events     []string
		rc         *receiver
	}
	targets := []*target{
		{name: "marketing", categories: []string{"newsletter_marketing"}},
		{name: "partners", categories: []string{"partners"}},
		{name: "marketing or partners", categories: []string{"partners", "newsletter_marketing"}},
		{name: "everything"},
		{name: "withdrawals only", events: []string{assent.WebhookConsentWithdrawn}},
	}
	for _, tg := range targets {
		tg.rc = newReceiver(t, nil)
		f.endpoint(tg.rc.URL, tg.categories, tg.events...)
	}
	ada := f.participate("ada@example.com", f.news, f.promo, f.rules) // marketing, not partners
	bo := f.participate("bo@example.com", f.rules, f.partners)        // partners, not marketing
	cy := f.participate("cy@example.com", f.rules)                    // neither
	if _, err := f.st.Withdraw(ctx, f.account.ID, bo.ParticipantID, []string{f.partners.ID}, false, assent.SourcePreferences); err != nil {
		t.Fatal(err)
	}
	f.deliver(f.dispatcher())
	want := map[string][]string{
		"marketing":             {"participation.created " + ada.ID},
		"partners":              {"participation.created " + bo.ID, "consent.withdrawn " + bo.ParticipantID},
		"marketing or partners": {"participation.created " + ada.ID, "participation.created " + bo.ID, "consent.withdrawn " + bo.ParticipantID},
		"everything": {"participation.created " + ada.ID, "participation.created " + bo.ID, "participation.created " + cy.ID,
			"consent.withdrawn " + bo.ParticipantID},
		"withdrawals only": {"consent.withdrawn " + bo.ParticipantID},
	}
	for _, tg := range targets {
		var got []string
		for _, c := range tg.rc.got() {
			body := decode(t, c)
			id := at(body, "data.participation.id")
			if body["type"] != assent.WebhookParticipationCreated {
				id = at(body, "data.participant.id")
			}
			got = append(got, body["type"].(string)+" "+id.(string))
		}
		if !sameSet(got, want[tg.name]) {
			t.Errorf("%s: got %v, want %v", tg.name, got, want[tg.name])
		}
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// TestRetries fails the first call in three ways, then checks that nothing
// is retried before 5 s, and that the retry at 5 s succeeds with the same
// webhook-id.
func TestRetries(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// setup returns the URL of an endpoint whose first call fails, the
		// receiver of the calls that succeed, and a function to run after
		// the failure.
		setup      func(t *testing.T, f *fixture) (url string, ok *receiver, fix func(endpointID string))
		wantStatus *int
		wantError  string
		wantBody   string
	}{
		{"500", func(t *testing.T, f *fixture) (string, *receiver, func(string)) {
			rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 0 {
					http.Error(w, "database is down", 500)
					return
				}
				w.Write([]byte("thanks"))
			})
			return rc.URL, rc, nil
		}, ptr(500), "", "database is down\n"},
		{"timeout", func(t *testing.T, f *fixture) (string, *receiver, func(string)) {
			rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 0 {
					select {
					case <-time.After(2 * time.Second):
					case <-r.Context().Done():
					}
				}
				w.Write([]byte("thanks"))
			})
			return rc.URL, rc, nil
		}, nil, "no answer within 200ms", ""},
		{"connection refused", func(t *testing.T, f *fixture) (string, *receiver, func(string)) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			dead := "http://" + ln.Addr().String() + "/hook"
			ln.Close()
			rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) { w.Write([]byte("thanks")) })
			return dead, rc, func(endpointID string) {
				if _, err := f.st.UpdateWebhook(context.Background(), f.account.ID, endpointID, func(e *assent.WebhookEndpoint) {
					e.URL = rc.URL + "/hook"
				}); err != nil {
					t.Fatal(err)
				}
			}
		}, nil, "connection refused", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t)
			url, ok, fix := tt.setup(t, f)
			e := f.endpoint(url, nil)
			d := f.dispatcher()
			d.Timeout = 200 * time.Millisecond
			f.participate("ada@example.com", f.rules)
			if n := f.deliver(d); n != 1 {
				t.Fatalf("first pass: got %d attempts, want 1", n)
			}
			log := f.attempts(e.ID)
			if len(log) != 1 || log[0].Success || log[0].DeliveryState != "pending" || log[0].Attempt != 1 {
				t.Fatalf("after the failure: got %+v, want one failed attempt, delivery pending", log)
			}
			if !reflect.DeepEqual(log[0].StatusCode, tt.wantStatus) || !strings.Contains(log[0].Error, tt.wantError) ||
				log[0].ResponseBody != tt.wantBody {
				t.Errorf("failed attempt: got status %v, error %q, body %q; want %v, %q, %q", deref(log[0].StatusCode),
					log[0].Error, log[0].ResponseBody, deref(tt.wantStatus), tt.wantError, tt.wantBody)
			}
			health, err := f.st.Webhook(ctx, f.account.ID, e.ID)
			if err != nil || health.ConsecutiveFailures != 1 || health.LastSuccessAt != nil || health.PendingDeliveries != 1 ||
				!reflect.DeepEqual(health.LastStatusCode, tt.wantStatus) || health.LastError != log[0].Error {
				t.Errorf("endpoint after the failure: got %+v (%v)", health, err)
			}
			if fix != nil {
				fix(e.ID)
			}
			f.clock.Add(4 * time.Second)
			if n := f.deliver(d); n != 0 {
				t.Errorf("4 s after: got %d attempts, want none before the 5 s retry", n)
			}
			f.clock.Add(time.Second)
			if n := f.deliver(d); n != 1 {
				t.Fatalf("5 s after: got %d attempts, want 1", n)
			}
			log = f.attempts(e.ID)
			if len(log) != 2 || !log[0].Success || *log[0].StatusCode != 200 || log[0].Attempt != 2 ||
				log[0].DeliveryState != "delivered" || log[0].ResponseBody != "thanks" {
				t.Errorf("after the retry: got %+v, want attempt 2 delivered with 200", log[0])
			}
			if log[0].EventID != log[1].EventID || log[0].DeliveryID != log[1].DeliveryID {
				t.Errorf("the retry is another delivery: %+v, %+v", log[0], log[1])
			}
			health, _ = f.st.Webhook(ctx, f.account.ID, e.ID)
			if health.ConsecutiveFailures != 0 || health.LastSuccessAt == nil || health.PendingDeliveries != 0 {
				t.Errorf("endpoint after the success: got %+v", health)
			}
			// Every call carried the event's id and a valid signature.
			calls := ok.got()
			if len(calls) == 0 {
				t.Fatal("the receiver got no call")
			}
			for _, c := range calls {
				if got := c.header.Get("Webhook-Id"); got != log[0].EventID {
					t.Errorf("webhook-id: got %q, want %q", got, log[0].EventID)
				}
				if err := verify(e.Secret, c); err != nil {
					t.Errorf("signature: %v", err)
				}
			}
		})
	}
}

func ptr(n int) *int { return &n }

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestGiveUpAfterSchedule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	})
	e := f.endpoint(rc.URL, nil)
	d := f.dispatcher()
	f.participate("ada@example.com", f.rules)
	start := f.clock.Now()
	for i := 0; i <= len(webhook.Schedule); i++ {
		if n := f.deliver(d); n != 1 {
			t.Fatalf("attempt %d: got %d attempts, want 1", i+1, n)
		}
		if i == len(webhook.Schedule) {
			break
		}
		f.clock.Add(webhook.Schedule[i] - time.Second)
		if n := f.deliver(d); n != 0 {
			t.Fatalf("a second before retry %d: got %d attempts, want 0", i+1, n)
		}
		f.clock.Add(time.Second)
	}
	f.clock.Add(30 * 24 * time.Hour)
	if n := f.deliver(d); n != 0 {
		t.Errorf("after giving up: got %d more attempts, want 0", n)
	}
	calls := rc.got()
	if len(calls) != 8 {
		t.Fatalf("calls: got %d, want 8", len(calls))
	}
	for _, c := range calls[1:] {
		if c.header.Get("Webhook-Id") != calls[0].header.Get("Webhook-Id") || string(c.body) != string(calls[0].body) {
			t.Errorf("a retry changed the webhook-id or the body")
		}
	}
	log := f.attempts(e.ID)
	if len(log) != 8 {
		t.Fatalf("log: got %d attempts, want 8", len(log))
	}
	wantAt := start
	for i := range log {
		a := log[len(log)-1-i] // oldest first
		if a.Attempt != i+1 || !a.CreatedAt.Equal(wantAt) || a.Success || *a.StatusCode != 503 || a.DeliveryState != "failed" {
			t.Errorf("attempt %d: got %+v, want at %s, 503, delivery failed", i+1, a, wantAt)
		}
		if i < len(webhook.Schedule) {
			wantAt = wantAt.Add(webhook.Schedule[i])
		}
	}
	got, err := f.st.Webhook(ctx, f.account.ID, e.ID)
	if err != nil || !got.Enabled || got.ConsecutiveFailures != 8 || got.FailedDeliveries != 1 || got.PendingDeliveries != 0 ||
		*got.LastStatusCode != 503 || got.LastSuccessAt != nil {
		t.Errorf("endpoint: got %+v (%v), want still enabled, 8 consecutive failures, 1 failed delivery", got, err)
	}
}
