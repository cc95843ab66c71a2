package statstest

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
	"github.com/assentdev/assent/store/storetest"
)

// Clock is a settable clock for the store: participations, confirmations
// and expiries happen when the test says.
type Clock struct{ micros atomic.Int64 }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return time.UnixMicro(c.micros.Load()).UTC() }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.micros.Store(t.UnixMicro()) }

// Fixture is a store on a fresh database with its clock in the test's
// hands, and a second, plain connection to the same database for the
// recount.
type Fixture struct {
	T     testing.TB
	DSN   string
	Store *store.Store
	DB    *sql.DB
	Clock *Clock
}

// New returns a Fixture on a fresh database (SQLite, or PostgreSQL with
// ASSENT_TEST_POSTGRES); its clock starts on 2026-01-05 at noon UTC.
func New(t testing.TB) *Fixture {
	t.Helper()
	f := &Fixture{T: t, DSN: storetest.DSN(t), Clock: &Clock{}}
	f.Clock.Set(time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC))
	f.Store = storetest.Open(t, f.DSN)
	f.Store.Now = f.Clock.Now
	f.DB = storetest.RawDB(t, f.DSN)
	return f
}

// Restart closes the store and opens a new one on the same database, as a
// restarted process would: its statistics come from the database alone.
func (f *Fixture) Restart() *store.Store {
	f.T.Helper()
	f.Store.Close()
	f.Store = storetest.Open(f.T, f.DSN)
	f.Store.Now = f.Clock.Now
	return f.Store
}

// Load reads an account's rows for the recount.
func (f *Fixture) Load(accountID string) *Data {
	f.T.Helper()
	return Load(f.T, f.DB, accountID)
}

// Account is an account of the fixture and what was made in it, by the
// short names the fixture gave.
type Account struct {
	f *Fixture
	assent.Account
	Subcategories map[string]assent.Subcategory // by value
	Optins        map[string]assent.Optin       // by short name
	Campaigns     map[string]assent.Campaign    // by short name
	// Participants maps a normalised email to its participant id, as long
	// as that participant is not erased.
	Participants map[string]string
	seen         map[string]bool // every participant id ever returned
	// Receipts are the participations made, in order.
	Receipts []assent.Receipt
	// First and Last are the times of the first and last participation.
	First, Last time.Time
}

// Account creates an account in the given time zone.
func (f *Fixture) Account(name, timeZone string) *Account {
	f.T.Helper()
	a, err := f.Store.CreateAccount(context.Background(), name, timeZone)
	if err != nil {
		f.T.Fatalf("statstest: create account %s: %v", name, err)
	}
	return &Account{f: f, Account: a, Subcategories: map[string]assent.Subcategory{}, Optins: map[string]assent.Optin{},
		Campaigns: map[string]assent.Campaign{}, Participants: map[string]string{}, seen: map[string]bool{}}
}

// Subcategory creates a custom subcategory.
func (a *Account) Subcategory(value, name, category string) assent.Subcategory {
	a.f.T.Helper()
	sc, err := a.f.Store.CreateSubcategory(context.Background(), a.ID, assent.Subcategory{Name: name, Value: value,
		Category: category})
	if err != nil {
		a.f.T.Fatalf("statstest: create subcategory %s: %v", value, err)
	}
	a.Subcategories[value] = sc
	return sc
}

// OptinSpec describes an opt-in to create.
type OptinSpec struct {
	Name, Language, Display string
	Mandatory, Double       bool
	Subcategories           []string
}

// Optin creates an opt-in known as short.
func (a *Account) Optin(short string, s OptinSpec) assent.Optin {
	a.f.T.Helper()
	o, err := a.f.Store.CreateOptin(context.Background(), a.ID, assent.Optin{Name: s.Name, Language: s.Language,
		Text: s.Name + ": I agree", Display: s.Display, Mandatory: s.Mandatory, DoubleOptin: s.Double,
		Subcategories: s.Subcategories})
	if err != nil {
		a.f.T.Fatalf("statstest: create opt-in %s: %v", short, err)
	}
	a.Optins[short] = o
	return o
}

// Campaign creates a campaign known as short, whose form shows the opt-ins
// of the given short names in that order.
func (a *Account) Campaign(short, name, language string, optins ...string) assent.Campaign {
	a.f.T.Helper()
	c, err := a.f.Store.CreateCampaign(context.Background(), a.ID, assent.Campaign{Name: name, Language: language,
		Type: "contest", Optins: a.ids(optins)})
	if err != nil {
		a.f.T.Fatalf("statstest: create campaign %s: %v", short, err)
	}
	a.Campaigns[short] = c
	return c
}

// SetForm changes the form of a campaign.
func (a *Account) SetForm(short string, optins ...string) {
	a.f.T.Helper()
	c, err := a.f.Store.UpdateCampaign(context.Background(), a.ID, a.Campaigns[short].ID, func(c *assent.Campaign) error {
		c.Optins = a.ids(optins)
		return nil
	})
	if err != nil {
		a.f.T.Fatalf("statstest: change the form of %s: %v", short, err)
	}
	a.Campaigns[short] = c
}

func (a *Account) ids(shorts []string) []string {
	out := []string{}
	for _, s := range shorts {
		o, ok := a.Optins[s]
		if !ok {
			a.f.T.Fatalf("statstest: no opt-in %s", s)
		}
		out = append(out, o.ID)
	}
	return out
}

// Participate submits a participation to the campaign short at time at
// (UTC RFC 3339) from email, with answers written "short=y|n|-" separated
// by spaces ("-" is an optional radio left blank; an opt-in left out is
// not answered at all). It checks the identity rule on the receipt: a
// known email is the same participant, not new; an unknown one is a new
// participant.
func (a *Account) Participate(at, short, email, answers string) assent.Receipt {
	a.f.T.Helper()
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		a.f.T.Fatalf("statstest: time %q: %v", at, err)
	}
	m := map[string]*bool{}
	for _, field := range strings.Fields(answers) {
		name, v, _ := strings.Cut(field, "=")
		o, ok := a.Optins[name]
		if !ok {
			a.f.T.Fatalf("statstest: no opt-in %s", name)
		}
		switch v {
		case "y":
			m[o.ID] = ptr(true)
		case "n":
			m[o.ID] = ptr(false)
		default:
			m[o.ID] = nil
		}
	}
	return a.Submit(t, short, email, m)
}

// Submit submits a participation at time at.
func (a *Account) Submit(at time.Time, short, email string, answers map[string]*bool) assent.Receipt {
	a.f.T.Helper()
	a.f.Clock.Set(at)
	c, ok := a.Campaigns[short]
	if !ok {
		a.f.T.Fatalf("statstest: no campaign %s", short)
	}
	r, replayed, err := a.f.Store.Participate(context.Background(), a.ID, c.ID, assent.Submission{Email: email,
		FirstName: "P", Answers: answers, IP: "192.0.2.7", UserAgent: "statstest",
		UTM: assent.UTM{Source: "test", Campaign: short}})
	if err != nil || replayed {
		a.f.T.Fatalf("statstest: participate in %s as %q at %s: %v (replayed %v)", short, email, at, err, replayed)
	}
	norm := strings.ToLower(strings.TrimSpace(email))
	known, isKnown := a.Participants[norm]
	switch {
	case isKnown && (r.ParticipantID != known || r.NewParticipant):
		a.f.T.Fatalf("statstest: %q again: got participant %s new %v, want %s, not new", email, r.ParticipantID,
			r.NewParticipant, known)
	case !isKnown && (!r.NewParticipant || a.seen[r.ParticipantID]):
		a.f.T.Fatalf("statstest: %q first time: got participant %s new %v, want a new participant", email,
			r.ParticipantID, r.NewParticipant)
	}
	a.Participants[norm], a.seen[r.ParticipantID] = r.ParticipantID, true
	a.Receipts = append(a.Receipts, r)
	if a.First.IsZero() {
		a.First = at
	}
	a.Last = at
	return r
}

// Erase erases the participant of email; the email is then unknown.
func (a *Account) Erase(email string) {
	a.f.T.Helper()
	norm := strings.ToLower(strings.TrimSpace(email))
	if err := a.f.Store.Erase(context.Background(), a.ID, a.Participants[norm]); err != nil {
		a.f.T.Fatalf("statstest: erase %s: %v", email, err)
	}
	delete(a.Participants, norm)
}

// Mail is a confirmation email waiting to be sent.
type Mail struct {
	store.Mail
	ParticipationID string
	CreatedAt       time.Time
}

// TakeMails returns the account's confirmation emails not taken yet, in
// the order they were queued, and marks them sent.
func (a *Account) TakeMails() []Mail {
	a.f.T.Helper()
	ctx := context.Background()
	due, err := a.f.Store.DueMails(ctx, 1000)
	if err != nil {
		a.f.T.Fatal(err)
	}
	var out []Mail
	for _, m := range due {
		if m.AccountID != a.ID {
			continue
		}
		mail := Mail{Mail: m}
		var created int64
		if err := a.f.DB.QueryRow(`SELECT participation_id, created_at FROM confirmations WHERE id = $1`,
			m.ConfirmationID).Scan(&mail.ParticipationID, &created); err != nil {
			a.f.T.Fatal(err)
		}
		mail.CreatedAt = time.UnixMicro(created).UTC()
		if err := a.f.Store.MailSent(ctx, m.ID); err != nil {
			a.f.T.Fatal(err)
		}
		out = append(out, mail)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}

// Confirm confirms a double opt-in email at time at.
func (a *Account) Confirm(m Mail, at time.Time) {
	a.f.T.Helper()
	a.f.Clock.Set(at)
	info, err := a.f.Store.Confirm(context.Background(), m.Token)
	if err != nil || !info.Confirmed {
		a.f.T.Fatalf("statstest: confirm the email of participation %s at %s: %v (confirmed %v)", m.ParticipationID,
			at, err, info.Confirmed)
	}
}

// Expire runs the expiry of confirmations with the clock at at.
func (f *Fixture) Expire(at time.Time) int {
	f.T.Helper()
	f.Clock.Set(at)
	n, err := f.Store.ExpireConfirmations(context.Background())
	if err != nil {
		f.T.Fatal(err)
	}
	return n
}

func ptr[T any](v T) *T { return &v }

func mustDay(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(fmt.Sprintf("statstest: day %q: %v", s, err))
	}
	return t
}
