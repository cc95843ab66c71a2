package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
	"github.com/assentdev/assent/store/storetest"
)

// formFixture is an account with a campaign whose form shows a checkbox
// newsletter, a mandatory legal checkbox, an optional radio for partners
// and a double opt-in.
type formFixture struct {
	s                                  *store.Store
	account                            assent.Account
	campaign                           assent.Campaign
	newsletter, rules, partners, daily assent.Optin
}

func newFormFixture(t *testing.T) *formFixture {
	t.Helper()
	ctx := context.Background()
	f := &formFixture{s: storetest.New(t)}
	f.account = storetest.Account(t, f.s, "acme")
	mk := func(name, display string, mandatory, double bool, sub string) assent.Optin {
		o, err := f.s.CreateOptin(ctx, f.account.ID, assent.Optin{Name: name, Language: "en", Text: name + " text",
			Display: display, Mandatory: mandatory, DoubleOptin: double, Subcategories: []string{sub}})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	f.newsletter = mk("Newsletter", assent.DisplayCheckbox, false, false, "newsletter_marketing")
	f.rules = mk("Rules", assent.DisplayCheckbox, true, false, "legal")
	f.partners = mk("Partners", assent.DisplayRadio, false, false, "partners")
	f.daily = mk("Daily deals", assent.DisplayCheckbox, false, true, "newsletter_marketing")
	var err error
	f.campaign, err = f.s.CreateCampaign(ctx, f.account.ID, assent.Campaign{Name: "Contest", Language: "en",
		Optins: []string{f.newsletter.ID, f.rules.ID, f.partners.ID, f.daily.ID}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func yes() *bool { b := true; return &b }
func no() *bool  { b := false; return &b }

func (f *formFixture) submit(email string, answers map[string]*bool) assent.Submission {
	return assent.Submission{Email: email, Answers: answers, IP: "192.0.2.1", UserAgent: "test"}
}

func TestParticipateStates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	sub := f.submit(" Ada@Example.com ", map[string]*bool{
		f.newsletter.ID: yes(), f.rules.ID: yes(), f.partners.ID: nil, f.daily.ID: yes()})
	r, replayed, err := f.s.Participate(ctx, f.account.ID, f.campaign.ID, sub)
	if err != nil || replayed {
		t.Fatalf("participate: %v (replayed %v)", err, replayed)
	}
	if !r.NewParticipant {
		t.Errorf("new_participant: got false, want true")
	}
	want := map[string]assent.ConsentState{f.newsletter.ID: "given", f.rules.ID: "given", f.partners.ID: "", f.daily.ID: "pending"}
	for _, a := range r.Optins {
		if a.State != want[a.ID] {
			t.Errorf("state of %s: got %q, want %q", a.ID, a.State, want[a.ID])
		}
	}
	// The same person again, refusing the newsletter: a refusal is not a
	// withdrawal, so the newsletter stays given.
	r2, _, err := f.s.Participate(ctx, f.account.ID, f.campaign.ID, f.submit("ada@example.com", map[string]*bool{
		f.newsletter.ID: no(), f.rules.ID: yes(), f.partners.ID: no(), f.daily.ID: no()}))
	if err != nil {
		t.Fatal(err)
	}
	if r2.NewParticipant || r2.ParticipantID != r.ParticipantID {
		t.Errorf("second participation: got participant %s new %v, want %s not new", r2.ParticipantID, r2.NewParticipant, r.ParticipantID)
	}
	want = map[string]assent.ConsentState{f.newsletter.ID: "given", f.rules.ID: "given", f.partners.ID: "refused", f.daily.ID: "pending"}
	for _, a := range r2.Optins {
		if a.State != want[a.ID] {
			t.Errorf("second participation, state of %s: got %q, want %q", a.ID, a.State, want[a.ID])
		}
	}
	o, err := f.s.Optin(ctx, f.account.ID, f.newsletter.ID)
	if err != nil || !o.Answered {
		t.Errorf("answered after a participation: got %v (%v), want true", o.Answered, err)
	}
}

func TestParticipateValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	all := func(m map[string]*bool) map[string]*bool {
		base := map[string]*bool{f.newsletter.ID: no(), f.rules.ID: yes(), f.daily.ID: no()}
		for k, v := range m {
			base[k] = v
		}
		return base
	}
	tests := []struct {
		name  string
		sub   assent.Submission
		field string
	}{
		{"no email", f.submit("", all(nil)), "email"},
		{"bad email", f.submit("ada@", all(nil)), "email"},
		{"mandatory refused", f.submit("a@example.com", all(map[string]*bool{f.rules.ID: no()})), "answers." + f.rules.ID},
		{"checkbox unanswered", f.submit("a@example.com", map[string]*bool{f.rules.ID: yes(), f.daily.ID: no()}), "answers." + f.newsletter.ID},
		{"foreign opt-in", f.submit("a@example.com", all(map[string]*bool{"opt_nope": yes()})), "answers.opt_nope"},
	}
	for _, tt := range tests {
		_, _, err := f.s.Participate(ctx, f.account.ID, f.campaign.ID, tt.sub)
		var e *assent.Error
		if !asError(err, &e) || e.Code != assent.EINVALID || e.Fields[tt.field] == "" {
			t.Errorf("%s: got %v, want EINVALID naming %s", tt.name, err, tt.field)
		}
	}
	if n := storetest.Count(t, f.s, "participations"); n != 0 {
		t.Errorf("participations stored after refusals: got %d, want 0", n)
	}
}

func TestParticipateIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	sub := f.submit("ada@example.com", map[string]*bool{f.newsletter.ID: yes(), f.rules.ID: yes(), f.daily.ID: no()})
	sub.IdempotencyKey = "k1"
	r1, replayed1, err := f.s.Participate(ctx, f.account.ID, f.campaign.ID, sub)
	if err != nil || replayed1 {
		t.Fatal(err, replayed1)
	}
	r2, replayed2, err := f.s.Participate(ctx, f.account.ID, f.campaign.ID, sub)
	if err != nil || !replayed2 || r2.ID != r1.ID {
		t.Fatalf("retry: got %s replayed %v err %v, want %s replayed", r2.ID, replayed2, err, r1.ID)
	}
	other := sub
	other.Answers = map[string]*bool{f.newsletter.ID: no(), f.rules.ID: yes(), f.daily.ID: no()}
	if _, _, err := f.s.Participate(ctx, f.account.ID, f.campaign.ID, other); assent.ErrorCode(err) != assent.ECONFLICT {
		t.Errorf("same key, other request: got %v, want ECONFLICT", err)
	}
	if n := storetest.Count(t, f.s, "participations"); n != 1 {
		t.Errorf("participations: got %d, want 1", n)
	}
}

func TestParticipateConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	const n = 200
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// 50 distinct people, each several times.
			sub := f.submit(fmt.Sprintf("p%d@example.com", i%50), map[string]*bool{
				f.newsletter.ID: yes(), f.rules.ID: yes(), f.daily.ID: no()})
			r, _, err := f.s.Participate(ctx, f.account.ID, f.campaign.ID, sub)
			ids[i], errs[i] = r.ID, err
		}(i)
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range ids {
		if errs[i] != nil {
			t.Fatalf("submission %d: %v", i, errs[i])
		}
		if seen[ids[i]] {
			t.Fatalf("participation id %s answered twice", ids[i])
		}
		seen[ids[i]] = true
	}
	if got := storetest.Count(t, f.s, "participations"); got != n {
		t.Errorf("participations: got %d, want %d", got, n)
	}
	if got := storetest.Count(t, f.s, "participants"); got != 50 {
		t.Errorf("participants: got %d, want 50", got)
	}
	if got := countEvents(t, f.s); got != 4*n {
		t.Errorf("events: got %d, want %d", got, 4*n)
	}
}
