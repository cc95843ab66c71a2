package statstest

import (
	"context"
	"testing"
	"time"

	"github.com/assentdev/assent"
)

// Scenario is the hand-made fixture: three accounts whose every figure can
// be worked out on paper.
type Scenario struct {
	*Fixture
	// Brussels (Europe/Brussels) crosses both daylight-saving changes of
	// 2026; Kathmandu (UTC+05:45) has participations a second either side of
	// its midnights; Other (UTC) shares emails with both, to show that
	// identity and figures stay within an account.
	Brussels, Kathmandu, Other *Account
}

// at parses a UTC time of the scenario.
func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// NewScenario builds the scenario on a fresh database. Its timeline, in
// UTC with Brussels local time alongside, is written out below; the tests
// that use it rely on it.
func NewScenario(t testing.TB) *Scenario {
	t.Helper()
	s := &Scenario{Fixture: New(t)}
	ctx := context.Background()
	f := s.Fixture

	b := f.Account("brussels", "Europe/Brussels")
	s.Brussels = b
	b.Subcategory("weekly-news", "Weekly news", assent.CategoryNewsletterMarketing)
	b.Subcategory("sms-promos", "SMS promotions", assent.CategoryNewsletterMarketing)
	b.Subcategory("contest-rules", "Contest rules", assent.CategoryLegal)
	b.Subcategory("partner-offers", "Partner offers", assent.CategoryPartners)
	b.Subcategory("research", "Research", assent.CategoryOthers)
	cb, radio := assent.DisplayCheckbox, assent.DisplayRadio
	b.Optin("news_en", OptinSpec{Name: "Weekly newsletter", Language: "en", Display: cb, Subcategories: []string{"weekly-news"}})
	b.Optin("sms_en", OptinSpec{Name: "SMS deals", Language: "en", Display: cb, Double: true, Subcategories: []string{"sms-promos"}})
	b.Optin("rules_en", OptinSpec{Name: "Contest rules", Language: "en", Display: cb, Mandatory: true,
		Subcategories: []string{"contest-rules"}})
	// One opt-in in two categories: partners, and marketing.
	b.Optin("partners_en", OptinSpec{Name: "Partner offers", Language: "en", Display: radio,
		Subcategories: []string{"partner-offers", assent.CategoryNewsletterMarketing}})
	b.Optin("panel_en", OptinSpec{Name: "Research panel", Language: "en", Display: radio, Double: true,
		Subcategories: []string{"research"}})
	b.Optin("news_fr", OptinSpec{Name: "Lettre hebdo", Language: "fr", Display: cb, Subcategories: []string{"weekly-news"}})
	b.Optin("promo_fr", OptinSpec{Name: "Promos SMS", Language: "fr", Display: cb, Double: true, Subcategories: []string{"sms-promos"}})
	// Two subcategories of one category.
	b.Optin("rules_fr", OptinSpec{Name: "Règlement", Language: "fr", Display: cb, Mandatory: true,
		Subcategories: []string{"contest-rules", assent.CategoryLegal}})
	b.Optin("partners_fr", OptinSpec{Name: "Partenaires", Language: "fr", Display: radio, Subcategories: []string{"partner-offers"}})
	b.Campaign("spring", "Spring contest", "en", "rules_en", "news_en", "sms_en", "partners_en", "panel_en")
	b.Campaign("quiz", "+Quiz", "en", "news_en", "partners_en") // a name a spreadsheet would run as a formula
	b.Campaign("concours", "Concours", "fr", "rules_fr", "news_fr", "promo_fr", "partners_fr")
	b.Campaign("sondage", "Sondage", "fr", "news_fr")
	b.Campaign("blind", "Blind test", "en") // a form without opt-ins
	b.Campaign("idle", "Idle", "en", "news_en")

	// March: CET until 2026-03-29 01:00Z, CEST after. Local day 29 lasts 23 hours.
	b.Participate("2026-03-27T22:59:59Z", "spring", "bob@example.com", // Fri 27 23:59:59
		"rules_en=y news_en=n sms_en=y partners_en=y panel_en=-")
	b.Participate("2026-03-27T23:00:00Z", "spring", " Ada@Example.com ", // Sat 28 00:00
		"rules_en=y news_en=y sms_en=y partners_en=- panel_en=n")
	b.Participate("2026-03-28T12:00:00Z", "quiz", "ada@example.com", "news_en=y partners_en=n") // Sat 28 13:00
	b.Participate("2026-03-28T22:59:59Z", "concours", "chloe@example.fr",                       // Sat 28 23:59:59
		"rules_fr=y news_fr=y promo_fr=y partners_fr=y")
	b.Participate("2026-03-28T23:00:00Z", "sondage", "CHLOE@example.fr", "news_fr=n") // Sun 29 00:00
	b.Participate("2026-03-29T00:59:59Z", "blind", "david@example.com", "")           // Sun 29 01:59:59 CET
	b.Participate("2026-03-29T01:00:00Z", "spring", "david@example.com",              // Sun 29 03:00 CEST
		"rules_en=y news_en=n sms_en=n partners_en=n panel_en=y")
	b.Participate("2026-03-29T21:59:59Z", "spring", "emma@example.com", // Sun 29 23:59:59
		"rules_en=y news_en=y sms_en=y partners_en=y panel_en=-")
	b.Participate("2026-03-29T22:00:00Z", "quiz", "farid@example.com", "news_en=n partners_en=y") // Mon 30 00:00, a new week
	b.Participate("2026-03-30T08:00:00Z", "spring", "emma@example.com",
		"rules_en=y news_en=n sms_en=y partners_en=- panel_en=n")
	b.Participate("2026-03-30T09:00:00Z", "blind", "gina@example.com", "")
	mails := map[string]Mail{} // by participation id
	for _, m := range b.TakeMails() {
		mails[m.ParticipationID] = m
	}
	// Ada confirms; Emma confirms her second email, then her first (which
	// then changes nothing); David withdraws his pending panel opt-in, then
	// clicks his link (too late to change anything); Bob never confirms.
	b.Confirm(mails[b.Receipts[1].ID], at("2026-03-30T10:00:00Z"))
	b.Confirm(mails[b.Receipts[9].ID], at("2026-03-30T11:00:00Z"))
	b.Confirm(mails[b.Receipts[7].ID], at("2026-03-30T11:30:00Z"))
	f.Clock.Set(at("2026-03-30T12:00:00Z"))
	if _, err := f.Store.Withdraw(ctx, b.ID, b.Receipts[6].ParticipantID, []string{b.Optins["panel_en"].ID}, false,
		assent.SourceAPI); err != nil {
		t.Fatal(err)
	}
	b.Confirm(mails[b.Receipts[6].ID], at("2026-03-30T12:30:00Z"))
	b.Confirm(mails[b.Receipts[3].ID], at("2026-03-31T08:00:00Z"))       // Chloe
	b.Participate("2026-03-31T21:59:59Z", "concours", "hugo@example.fr", // Tue 31 23:59:59
		"rules_fr=y news_fr=n promo_fr=n partners_fr=-")
	b.Participate("2026-03-31T22:00:00Z", "concours", "iris@example.fr", // Wed April 1 00:00
		"rules_fr=y news_fr=y promo_fr=y partners_fr=n")
	b.TakeMails() // Iris never confirms
	f.Clock.Set(at("2026-04-02T00:00:00Z"))
	b.SetForm("quiz", "news_en", "panel_en") // partners_en leaves the quiz
	b.Participate("2026-04-02T10:00:00Z", "quiz", "bob@example.com", "news_en=y panel_en=y")
	for _, m := range b.TakeMails() {
		b.Confirm(m, at("2026-04-03T10:00:00Z")) // Bob's panel
	}
	// Bob's SMS deals (27 March) and Iris's promos (1 April) expire.
	if n := f.Expire(at("2026-04-10T00:00:00Z")); n != 2 {
		t.Fatalf("statstest: expired %d confirmations, want 2", n)
	}
	f.Clock.Set(at("2026-04-11T00:00:00Z"))
	b.Erase("farid@example.com")
	b.Participate("2026-04-12T10:00:00Z", "quiz", "Farid@Example.com", "news_en=y panel_en=-") // a new participant
	f.Clock.Set(at("2026-04-13T00:00:00Z"))
	if _, err := f.Store.Withdraw(ctx, b.ID, b.Receipts[1].ParticipantID, []string{b.Optins["news_en"].ID}, false,
		assent.SourceAPI); err != nil {
		t.Fatal(err)
	}

	// October: CEST until 2026-10-25 01:00Z, CET after. Local day 25 lasts 25 hours.
	b.Participate("2026-10-24T21:59:59Z", "spring", "jules@example.com", // Sat 24 23:59:59
		"rules_en=y news_en=y sms_en=n partners_en=y panel_en=n")
	b.Participate("2026-10-24T22:00:00Z", "spring", "ada@example.com", // Sun 25 00:00 CEST
		"rules_en=y news_en=y sms_en=y partners_en=y panel_en=y")
	b.Participate("2026-10-25T00:30:00Z", "blind", "hugo@example.fr", "")                    // Sun 25 02:30 CEST
	b.Participate("2026-10-25T01:30:00Z", "quiz", "bob@example.com", "news_en=n panel_en=n") // Sun 25 02:30 CET
	b.Participate("2026-10-25T22:59:59Z", "sondage", "chloe@example.fr", "news_fr=y")        // Sun 25 23:59:59 CET
	b.Participate("2026-10-25T23:00:00Z", "concours", "gina@example.com",                    // Mon 26 00:00
		"rules_fr=y news_fr=y promo_fr=y partners_fr=y")
	b.TakeMails() // Ada's research panel and Gina's promos stay pending

	// Kathmandu is UTC+05:45: its days begin at 18:15 UTC.
	k := f.Account("kathmandu", "Asia/Kathmandu")
	s.Kathmandu = k
	k.Optin("news", OptinSpec{Name: "News", Language: "en", Display: cb, Subcategories: []string{assent.CategoryNewsletterMarketing}})
	k.Optin("rules", OptinSpec{Name: "Rules", Language: "en", Display: cb, Mandatory: true, Subcategories: []string{assent.CategoryLegal}})
	k.Optin("deals", OptinSpec{Name: "Deals", Language: "en", Display: cb, Double: true,
		Subcategories: []string{assent.CategoryNewsletterMarketing}})
	k.Optin("lettre", OptinSpec{Name: "Lettre", Language: "fr", Display: radio, Subcategories: []string{assent.CategoryNewsletterMarketing}})
	k.Campaign("trek", "Trek", "en", "rules", "news", "deals")
	k.Campaign("rando", "Randonnée", "fr", "lettre")
	k.Participate("2025-12-31T18:14:59Z", "trek", "ada@example.com", "rules=y news=y deals=n") // 2025-12-31 23:59:59
	k.Participate("2025-12-31T18:15:00Z", "trek", "bob@example.com", "rules=y news=n deals=y") // 2026-01-01 00:00
	k.Participate("2026-03-29T18:14:59Z", "rando", "ada@example.com", "lettre=y")              // 29 March 23:59:59
	k.Participate("2026-03-29T18:15:00Z", "rando", "chloe@example.fr", "lettre=-")             // 30 March 00:00
	k.Participate("2026-03-30T06:00:00Z", "trek", "chloe@example.fr", "rules=y news=y deals=y")

	o := f.Account("other", "UTC")
	s.Other = o
	o.Optin("news", OptinSpec{Name: "News", Language: "en", Display: cb, Subcategories: []string{assent.CategoryNewsletterMarketing}})
	o.Campaign("main", "Other contest", "en", "news")
	o.Participate("2026-03-29T12:00:00Z", "main", "ada@example.com", "news=y")

	f.Clock.Set(at("2026-10-26T10:00:00Z"))
	return s
}
