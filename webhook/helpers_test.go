package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
	"github.com/assentdev/assent/store/storetest"
	"github.com/assentdev/assent/webhook"
)

// clock is a time that tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// call is one request a receiver got.
type call struct {
	header http.Header
	body   []byte
}

// receiver is a real HTTP server that records every call and answers as
// respond says (n counts calls from 0); by default, 200.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	calls   []call
	respond func(n int, w http.ResponseWriter, r *http.Request)
}

func newReceiver(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{respond: respond}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.calls)
		rc.calls = append(rc.calls, call{header: r.Header.Clone(), body: body})
		rc.mu.Unlock()
		if rc.respond != nil {
			rc.respond(n, w, r)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() []call {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]call(nil), rc.calls...)
}

// verify checks a call's signature the Standard Webhooks way, written here
// from the specification rather than taken from package webhook: HMAC-SHA256
// keyed with the base64-decoded part of the secret after "whsec_", over
// "id.timestamp.body", base64, behind "v1,", one of the space-separated
// signatures of the header.
func verify(secret string, c call) error {
	id, ts, header := c.header.Get("Webhook-Id"), c.header.Get("Webhook-Timestamp"), c.header.Get("Webhook-Signature")
	if id == "" || ts == "" || header == "" {
		return fmt.Errorf("missing webhook-id %q, webhook-timestamp %q or webhook-signature %q", id, ts, header)
	}
	rest, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return fmt.Errorf("secret %q does not start with whsec_", secret)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return fmt.Errorf("secret is not base64: %v", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(c.body)
	want := mac.Sum(nil)
	for _, sig := range strings.Split(header, " ") {
		version, value, _ := strings.Cut(sig, ",")
		got, err := base64.StdEncoding.DecodeString(value)
		if version == "v1" && err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("no signature of %q matches", header)
}

// fixture is an account whose campaign's form shows, in order: a weekly
// newsletter (subcategory weekly-news), promotions (the built-in marketing
// subcategory), mandatory contest rules (legal), an optional radio for
// partners, and a double opt-in for daily deals (marketing).
type fixture struct {
	t                                   *testing.T
	st                                  *store.Store
	clock                               *clock
	account                             assent.Account
	campaign                            assent.Campaign
	news, promo, rules, partners, daily assent.Optin
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := storetest.New(t)
	return newFixtureOn(t, st)
}

func newFixtureOn(t *testing.T, st *store.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{t: t, st: st, clock: newClock()}
	st.Now = f.clock.Now
	st.BaseURL = "https://assent.example"
	f.account = storetest.Account(t, st, "acme")
	if _, err := st.CreateSubcategory(ctx, f.account.ID, assent.Subcategory{Name: "Weekly news", Value: "weekly-news",
		Category: assent.CategoryNewsletterMarketing}); err != nil {
		t.Fatal(err)
	}
	mk := func(o assent.Optin) assent.Optin {
		o.Language, o.Text = "en", o.Name+": I agree"
		if o.Display == "" {
			o.Display = assent.DisplayCheckbox
		}
		o, err := st.CreateOptin(ctx, f.account.ID, o)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	f.news = mk(assent.Optin{Name: "Weekly newsletter", Variable: "my_newsletter", Subcategories: []string{"weekly-news"}})
	f.promo = mk(assent.Optin{Name: "Promotions", Subcategories: []string{"newsletter_marketing"}})
	f.rules = mk(assent.Optin{Name: "Contest rules", Mandatory: true, Subcategories: []string{"legal"}})
	f.partners = mk(assent.Optin{Name: "Partners", Display: assent.DisplayRadio, Subcategories: []string{"partners"}})
	f.daily = mk(assent.Optin{Name: "Daily deals", DoubleOptin: true, Subcategories: []string{"newsletter_marketing"}})
	var err error
	f.campaign, err = st.CreateCampaign(ctx, f.account.ID, assent.Campaign{Name: "Xmas contest", Language: "en",
		Type: "contest", Optins: []string{f.news.ID, f.promo.ID, f.rules.ID, f.partners.ID, f.daily.ID}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

// participate submits a participation of email; accept lists the opt-ins
// accepted, and every other checkbox (and the partners radio) is refused.
// The contest rules are mandatory: tests accept them.
func (f *fixture) participate(email string, accept ...assent.Optin) assent.Receipt {
	f.t.Helper()
	answers := map[string]*bool{}
	for _, o := range []assent.Optin{f.news, f.promo, f.rules, f.partners, f.daily} {
		answers[o.ID] = no()
	}
	for _, o := range accept {
		answers[o.ID] = yes()
	}
	r, _, err := f.st.Participate(context.Background(), f.account.ID, f.campaign.ID, assent.Submission{Email: email,
		FirstName: "Ada", LastName: "Lovelace", Answers: answers, IP: "192.0.2.7", UserAgent: "Mozilla/5.0 (test)",
		UTM: assent.UTM{Source: "newsletter", Medium: "email", Campaign: "xmas", Term: "contest", Content: "banner"}})
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// endpoint registers an endpoint at url for events (all when none).
func (f *fixture) endpoint(url string, categories []string, events ...string) assent.WebhookEndpoint {
	f.t.Helper()
	if len(events) == 0 {
		events = assent.WebhookEventTypes
	}
	e, err := f.st.CreateWebhook(context.Background(), f.account.ID, assent.WebhookEndpoint{URL: url, Events: events,
		Categories: categories, Header: &assent.WebhookHeader{Name: "X-Receiver-Token", Value: "let me in"},
		Enabled: true})
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

// dispatcher returns a dispatcher of the fixture's store with a short
// timeout.
func (f *fixture) dispatcher() *webhook.Dispatcher {
	d := webhook.New(f.st, quiet())
	d.Timeout = 2 * time.Second
	return d
}

// deliver runs one pass of d and returns how many attempts it made.
func (f *fixture) deliver(d *webhook.Dispatcher) int {
	f.t.Helper()
	n, err := d.DeliverDue(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// attempts returns the delivery log of an endpoint, newest first.
func (f *fixture) attempts(endpointID string) []assent.WebhookAttempt {
	f.t.Helper()
	list, _, err := f.st.WebhookAttempts(context.Background(), f.account.ID, endpointID, store.Page{Limit: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	return list
}

// decode parses a call's body.
func decode(t *testing.T, c call) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(c.body, &m); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, c.body)
	}
	return m
}

// at returns the value at a dotted path of decoded JSON ("data.optins.0.id").
func at(v any, path string) any {
	for _, key := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[key]
		case []any:
			var i int
			if _, err := fmt.Sscanf(key, "%d", &i); err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}
