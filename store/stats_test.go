package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/stats/statstest"
	"github.com/assentdev/assent/store"
)

// checkReports holds every request's report, computed as the handlers do,
// to the recount of the account's stored rows.
func checkReports(t *testing.T, f *statstest.Fixture, accountID, phase string, requests []statstest.Request) {
	t.Helper()
	d := f.Load(accountID)
	d.CheckStored(t)
	for _, r := range requests {
		got, err := statstest.Direct(f.Store, accountID, r)
		if err != nil {
			t.Fatalf("%s: %s: %v", phase, r.Path(), err)
		}
		if diffs := statstest.Diff(got, d.Expect(r, f.Clock.Now())); len(diffs) > 0 {
			t.Errorf("%s: %s:\n%s", phase, r.Path(), strings.Join(diffs, "\n"))
		}
	}
}

// checkAudiences holds every audience of the account (every opt-in, every
// state), read page by page, to the states replayed from the ledger.
func checkAudiences(t *testing.T, f *statstest.Fixture, accountID, phase string) {
	t.Helper()
	ctx := context.Background()
	d := f.Load(accountID)
	for id := range d.Optins {
		for _, state := range assent.ConsentStates {
			var all []store.AudienceMember
			page := store.Page{Limit: 3}
			for {
				members, next, err := f.Store.Audience(ctx, accountID, id, state, page, nil)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, members...)
				if next == "" {
					break
				}
				page.Cursor = next
			}
			if all == nil {
				all = []store.AudienceMember{}
			}
			raw, _ := json.Marshal(all)
			if diffs := statstest.Diff(raw, d.Audience(id, string(state))); len(diffs) > 0 {
				t.Errorf("%s: audience of %s, %s:\n%s", phase, id, state, strings.Join(diffs, "\n"))
			}
		}
	}
}

// report computes one report as the handlers do and decodes it into v.
func report(t *testing.T, f *statstest.Fixture, accountID string, r statstest.Request, v any) {
	t.Helper()
	raw, err := statstest.Direct(f.Store, accountID, r)
	if err != nil {
		t.Fatalf("%s: %v", r.Path(), err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatal(err)
	}
}

func rate(n, d int64) *float64 {
	r := float64(n) / float64(d)
	return &r
}

func stat(displays, conversions int64) statstest.Stat {
	s := statstest.Stat{Displays: displays, Conversions: conversions}
	if displays > 0 {
		s.Rate = rate(conversions, displays)
	}
	return s
}

func sameStat(a, b statstest.Stat) bool {
	return a.Displays == b.Displays && a.Conversions == b.Conversions &&
		((a.Rate == nil && b.Rate == nil) || (a.Rate != nil && b.Rate != nil && *a.Rate == *b.Rate))
}

func showStat(s statstest.Stat) string {
	if s.Rate == nil {
		return fmt.Sprintf("%d/%d rate null", s.Conversions, s.Displays)
	}
	return fmt.Sprintf("%d/%d rate %v", s.Conversions, s.Displays, *s.Rate)
}

// TestStatsScenarioFigures checks figures of the hand-made scenario that
// were worked out on paper: day boundaries in the account's zone across
// both daylight-saving changes and at UTC+05:45, a participation that
// accepts two marketing opt-ins counting once, new and returning
// participants, a participant who comes back after erasure, confirmed
// double opt-ins, and a campaign whose form shows no opt-in.
func TestStatsScenarioFigures(t *testing.T) {
	t.Parallel()
	s := statstest.NewScenario(t)
	b, k := s.Brussels, s.Kathmandu

	totals := []struct {
		name                 string
		account              string
		r                    statstest.Request
		participations, uniq int64
		fresh                int64
		marketing            *statstest.Stat // of the global stats
		seriesStarts         string
		seriesParticipations string
	}{
		{name: "Brussels day 29 March (23 hours)", account: b.ID,
			r:              statstest.Request{Report: "global", From: "2026-03-29", To: "2026-03-29"},
			participations: 4, uniq: 3, fresh: 2},
		{name: "Brussels day 28 March", account: b.ID,
			r:              statstest.Request{Report: "global", From: "2026-03-28", To: "2026-03-28"},
			participations: 3, uniq: 2, fresh: 2},
		{name: "Brussels day 25 October (25 hours)", account: b.ID,
			r:              statstest.Request{Report: "global", From: "2026-10-25", To: "2026-10-25"},
			participations: 4, uniq: 4, fresh: 0},
		{name: "Brussels 2026: two marketing opt-ins accepted count once", account: b.ID,
			r:              statstest.Request{Report: "global", From: "2026-01-01", To: "2026-12-31"},
			participations: 21, uniq: 11, fresh: 11, marketing: &statstest.Stat{Displays: 18, Conversions: 14, Rate: rate(14, 18)}},
		{name: "Brussels weeks around the March change", account: b.ID,
			r:              statstest.Request{Report: "optins", From: "2026-03-23", To: "2026-04-05", Interval: "week"},
			participations: 14, uniq: 9, fresh: 9, seriesStarts: "2026-03-23 2026-03-30", seriesParticipations: "8 6"},
		{name: "Brussels months: 1 April starts at 22:00 UTC", account: b.ID,
			r:              statstest.Request{Report: "optins", From: "2026-03-01", To: "2026-04-30", Interval: "month"},
			participations: 15, uniq: 10, fresh: 10, seriesStarts: "2026-03-01 2026-04-01", seriesParticipations: "12 3"},
		{name: "Brussels new participants only", account: b.ID,
			r: statstest.Request{Report: "optins", From: "2026-03-01", To: "2026-04-30",
				Filters: statstest.Filters{Participants: "new"}},
			participations: 10, uniq: 10, fresh: 10},
		{name: "Kathmandu 31 December, a second before its midnight", account: k.ID,
			r:              statstest.Request{Report: "global", From: "2025-12-31", To: "2025-12-31"},
			participations: 1, uniq: 1, fresh: 1},
		{name: "Kathmandu this year, from its 1 January", account: k.ID,
			r:              statstest.Request{Report: "global", Period: "this_year"},
			participations: 4, uniq: 3, fresh: 2},
		{name: "Kathmandu days of 29 and 30 March", account: k.ID,
			r:              statstest.Request{Report: "optins", From: "2026-03-29", To: "2026-03-30"},
			participations: 3, uniq: 2, fresh: 1, seriesStarts: "2026-03-29 2026-03-30", seriesParticipations: "1 2"},
		{name: "Other account: Ada is new there too", account: s.Other.ID,
			r:              statstest.Request{Report: "global"},
			participations: 1, uniq: 1, fresh: 1, marketing: &statstest.Stat{Displays: 1, Conversions: 1, Rate: rate(1, 1)}},
	}
	for _, tt := range totals {
		t.Run(tt.name, func(t *testing.T) {
			var rep struct {
				Participations     int64                   `json:"participations"`
				UniqueParticipants int64                   `json:"unique_participants"`
				NewParticipants    int64                   `json:"new_participants"`
				Marketing          statstest.Stat          `json:"marketing"`
				Series             []statstest.SeriesPoint `json:"series"`
			}
			report(t, s.Fixture, tt.account, tt.r, &rep)
			if rep.Participations != tt.participations || rep.UniqueParticipants != tt.uniq || rep.NewParticipants != tt.fresh {
				t.Errorf("got %d participations, %d unique, %d new; want %d, %d, %d", rep.Participations,
					rep.UniqueParticipants, rep.NewParticipants, tt.participations, tt.uniq, tt.fresh)
			}
			if tt.marketing != nil && !sameStat(rep.Marketing, *tt.marketing) {
				t.Errorf("marketing: got %s, want %s", showStat(rep.Marketing), showStat(*tt.marketing))
			}
			if tt.seriesStarts != "" {
				var starts, counts []string
				for _, p := range rep.Series {
					starts, counts = append(starts, p.Start), append(counts, fmt.Sprint(p.Participations))
				}
				if got := strings.Join(starts, " "); got != tt.seriesStarts {
					t.Errorf("series starts: got %s, want %s", got, tt.seriesStarts)
				}
				if got := strings.Join(counts, " "); got != tt.seriesParticipations {
					t.Errorf("series participations: got %s, want %s", got, tt.seriesParticipations)
				}
			}
		})
	}

	// The spring contest in March: Bob, Ada, David (new on the blind test
	// first) and Emma twice.
	var spring statstest.CampaignReport
	report(t, s.Fixture, b.ID, statstest.Request{Report: "campaign", Campaign: b.Campaigns["spring"].ID,
		From: "2026-03-01", To: "2026-03-31"}, &spring)
	if spring.Participations != 5 || spring.UniqueParticipants != 4 || spring.NewParticipants != 3 {
		t.Errorf("spring in March: got %d participations, %d unique, %d new; want 5, 4, 3", spring.Participations,
			spring.UniqueParticipants, spring.NewParticipants)
	}
	optins := map[string]statstest.OptinStat{}
	for _, o := range spring.Optins {
		optins[o.ID] = o
	}
	for _, tt := range []struct {
		optin     string
		want      statstest.Stat
		confirmed int64 // -1: not a double opt-in, so null
	}{
		{"rules_en", stat(5, 5), -1},
		{"news_en", stat(5, 2), -1},
		// Ada's and Emma's second are confirmed; Bob's expired; Emma's first
		// was confirmed through her second email only.
		{"sms_en", stat(5, 4), 2},
		{"partners_en", stat(5, 2), -1},
		// David accepted, withdrew, then clicked his link: not confirmed.
		{"panel_en", stat(5, 1), 0},
	} {
		o := optins[b.Optins[tt.optin].ID]
		if !sameStat(o.Stat, tt.want) {
			t.Errorf("spring in March, %s: got %s, want %s", tt.optin, showStat(o.Stat), showStat(tt.want))
		}
		switch {
		case tt.confirmed < 0 && o.Confirmed != nil:
			t.Errorf("spring in March, %s: got confirmed %d, want null", tt.optin, *o.Confirmed)
		case tt.confirmed >= 0 && (o.Confirmed == nil || *o.Confirmed != tt.confirmed):
			t.Errorf("spring in March, %s: got confirmed %v, want %d", tt.optin, o.Confirmed, tt.confirmed)
		}
	}
	var subs []string
	for _, c := range spring.Categories {
		for _, sc := range c.Subcategories {
			subs = append(subs, fmt.Sprintf("%s/%s %d/%d", c.Key, sc.Value, sc.Conversions, sc.Displays))
		}
	}
	want := "newsletter_marketing/newsletter_marketing 2/5 newsletter_marketing/weekly-news 2/5 " +
		"newsletter_marketing/sms-promos 4/5 legal/contest-rules 5/5 partners/partner-offers 2/5 others/research 1/5"
	if got := strings.Join(subs, " "); got != want {
		t.Errorf("spring in March, subcategories:\ngot  %s\nwant %s", got, want)
	}

	// The blind test shows no opt-in: its participations still count.
	var blind statstest.CampaignReport
	report(t, s.Fixture, b.ID, statstest.Request{Report: "campaign", Campaign: b.Campaigns["blind"].ID,
		From: "2026-01-01", To: "2026-12-31", Interval: "month"}, &blind)
	if blind.Participations != 3 || blind.UniqueParticipants != 3 || blind.NewParticipants != 2 || len(blind.Optins) != 0 {
		t.Errorf("blind test: got %d participations, %d unique, %d new, %d opt-ins; want 3, 3, 2, 0",
			blind.Participations, blind.UniqueParticipants, blind.NewParticipants, len(blind.Optins))
	}
	for _, c := range blind.Categories {
		if c.Displays != 0 || c.Rate != nil {
			t.Errorf("blind test, %s: got %s, want 0/0 rate null", c.Key, showStat(c.Stat))
		}
	}

	// The quiz's form lost the partners opt-in: it comes after the form's.
	var quiz statstest.CampaignReport
	report(t, s.Fixture, b.ID, statstest.Request{Report: "campaign", Campaign: b.Campaigns["quiz"].ID,
		From: "2026-01-01", To: "2026-12-31"}, &quiz)
	var order []string
	for _, o := range quiz.Optins {
		order = append(order, o.Name)
	}
	if got := strings.Join(order, ", "); got != "Weekly newsletter, Research panel, Partner offers" {
		t.Errorf("quiz opt-ins: got %s, want Weekly newsletter, Research panel, Partner offers", got)
	}
	if quiz.Participations != 5 || quiz.UniqueParticipants != 4 || quiz.NewParticipants != 2 {
		t.Errorf("quiz: got %d participations, %d unique, %d new; want 5, 4 (Farid twice: erased between), 2",
			quiz.Participations, quiz.UniqueParticipants, quiz.NewParticipants)
	}
}

// TestStatsScenarioEqualsRecount holds every report of every account of
// the scenario to the recount, over periods that cut the data at its day
// boundaries and over every named period.
func TestStatsScenarioEqualsRecount(t *testing.T) {
	t.Parallel()
	s := statstest.NewScenario(t)
	r := rand.New(rand.NewPCG(1, 1))
	for _, a := range []*statstest.Account{s.Brussels, s.Kathmandu, s.Other} {
		d := s.Load(a.ID)
		requests := d.Requests("2025-12-30", "2026-10-27", r.IntN)
		for _, p := range []string{"today", "yesterday", "last_7_days", "last_30_days", "this_month", "last_month",
			"this_year", "last_365_days", ""} {
			requests = append(requests, statstest.Request{Report: "global", Period: p},
				statstest.Request{Report: "optins", Period: p, Interval: "week"})
		}
		checkReports(t, s.Fixture, a.ID, a.Name, requests)
	}
}

// TestStatsEqualRecount is the property test: random accounts (seeded)
// whose every report equals the recount, then again after each change
// that re-attributes history (a subcategory moved to another category and
// renamed, an opt-in's subcategories changed), after a change of the
// account's time zone, and after a restart, which must also answer
// byte for byte what the running store answered.
func TestStatsEqualRecount(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 2, 3, 5} { // Kathmandu, Eucla, St. John's, Brussels
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := statstest.New(t)
			a := f.Random(seed, 240)
			r := rand.New(rand.NewPCG(seed, 7))
			first := a.First.AddDate(0, 0, -1).Format(time.DateOnly)
			last := a.Last.AddDate(0, 0, 1).Format(time.DateOnly)
			requests := func() []statstest.Request { return f.Load(a.ID).Requests(first, last, r.IntN) }
			checkReports(t, f, a.ID, "as written", requests())
			checkAudiences(t, f, a.ID, "as written")

			sc := a.Subcategories[fmt.Sprintf("sub-%d", r.IntN(6))]
			moved := assent.Categories[(assent.CategoryIndex(sc.Category)+1+r.IntN(3))%4].Key
			if _, err := f.Store.UpdateSubcategory(ctx, a.ID, sc.ID, func(s *assent.Subcategory) { s.Category = moved }); err != nil {
				t.Fatal(err)
			}
			checkReports(t, f, a.ID, "after moving "+sc.Value+" to "+moved, requests())

			o := a.Optins[fmt.Sprintf("o%d", r.IntN(12))]
			next := []string{assent.CategoryNewsletterMarketing, fmt.Sprintf("sub-%d", r.IntN(6))}
			if _, err := f.Store.UpdateOptin(ctx, a.ID, o.ID, func(o *assent.Optin) { o.Subcategories = next }); err != nil {
				t.Fatal(err)
			}
			checkReports(t, f, a.ID, "after changing the subcategories of "+o.Name, requests())

			if _, err := f.Store.UpdateSubcategory(ctx, a.ID, sc.ID, func(s *assent.Subcategory) { s.Value = "renamed" }); err != nil {
				t.Fatal(err)
			}
			checkReports(t, f, a.ID, "after renaming "+sc.Value, requests())

			zone := statstest.Zones[(int(seed)+1+r.IntN(len(statstest.Zones)-1))%len(statstest.Zones)]
			if _, err := f.Store.UpdateAccount(ctx, a.ID, func(acc *assent.Account) { acc.TimeZone = zone }); err != nil {
				t.Fatal(err)
			}
			list := requests()
			checkReports(t, f, a.ID, "after moving the account to "+zone, list)

			before := make([][]byte, len(list))
			for i, req := range list {
				var err error
				if before[i], err = statstest.Direct(f.Store, a.ID, req); err != nil {
					t.Fatal(err)
				}
			}
			f.Restart()
			for i, req := range list {
				after, err := statstest.Direct(f.Store, a.ID, req)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(after, before[i]) {
					t.Errorf("after a restart: %s:\n%s", req.Path(), strings.Join(statstest.Diff(after, json.RawMessage(before[i])), "\n"))
				}
			}
			checkReports(t, f, a.ID, "after a restart", list)
			checkAudiences(t, f, a.ID, "after a restart")
		})
	}
}

// TestStatsConcurrentParticipations submits waves of participations from
// many goroutines at once, to two accounts, so that the writer commits
// them in batches: the statistics kept along the way equal the recount,
// and a restart, with the same new participants.
func TestStatsConcurrentParticipations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := statstest.New(t)
	cb := assent.DisplayCheckbox
	var accounts []*statstest.Account
	for i, zone := range []string{"Asia/Kathmandu", "Europe/Brussels"} {
		a := f.Account(fmt.Sprint("acme-", i), zone)
		a.Optin("rules", statstest.OptinSpec{Name: "Rules", Language: "en", Display: cb, Mandatory: true,
			Subcategories: []string{assent.CategoryLegal}})
		a.Optin("news", statstest.OptinSpec{Name: "News", Language: "en", Display: cb,
			Subcategories: []string{assent.CategoryNewsletterMarketing}})
		a.Optin("deals", statstest.OptinSpec{Name: "Deals", Language: "en", Display: cb, Double: true,
			Subcategories: []string{assent.CategoryNewsletterMarketing, assent.CategoryPartners}})
		a.Campaign("c0", "Contest", "en", "rules", "news", "deals")
		a.Campaign("c1", "Newsletter", "en", "news")
		a.Campaign("c2", "Quiz", "en")
		accounts = append(accounts, a)
	}
	// Each wave shares one instant, either side of a midnight of one zone
	// or the other: the new participants are those written first.
	for w, at := range []string{"2026-03-28T18:14:59Z", "2026-03-28T18:15:00Z", "2026-03-28T22:59:59Z",
		"2026-03-28T23:00:00Z", "2026-03-29T21:59:59Z", "2026-03-29T22:00:00Z"} {
		when, err := time.Parse(time.RFC3339, at)
		if err != nil {
			t.Fatal(err)
		}
		f.Clock.Set(when)
		errs := make(chan error, 48)
		var wg sync.WaitGroup
		for i := 0; i < 48; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				a := accounts[i%2]
				c := a.Campaigns[fmt.Sprint("c", i/2%3)]
				answers := map[string]*bool{}
				for k, id := range c.Optins {
					answers[id] = ptr(k == 0 && c.Name == "Contest" || (i+w+k)%3 > 0)
				}
				_, _, err := f.Store.Participate(ctx, a.ID, c.ID, assent.Submission{
					Email: fmt.Sprintf("p%d@example.com", (i*7+w*5)%30), Answers: answers})
				if err != nil {
					errs <- err
				}
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	for _, a := range accounts {
		for i, m := range a.TakeMails() {
			if i%2 == 0 {
				a.Confirm(m, m.CreatedAt.Add(time.Hour))
			}
		}
	}
	r := rand.New(rand.NewPCG(4, 4))
	lists := map[string][]statstest.Request{}
	before := map[string][][]byte{}
	for _, a := range accounts {
		lists[a.ID] = f.Load(a.ID).Requests("2026-03-27", "2026-03-31", r.IntN)
		checkReports(t, f, a.ID, a.Name, lists[a.ID])
		for _, req := range lists[a.ID] {
			raw, err := statstest.Direct(f.Store, a.ID, req)
			if err != nil {
				t.Fatal(err)
			}
			before[a.ID] = append(before[a.ID], raw)
		}
	}
	f.Restart()
	for _, a := range accounts {
		for i, req := range lists[a.ID] {
			after, err := statstest.Direct(f.Store, a.ID, req)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(after, before[a.ID][i]) {
				t.Errorf("%s after a restart: %s:\n%s", a.Name, req.Path(),
					strings.Join(statstest.Diff(after, json.RawMessage(before[a.ID][i])), "\n"))
			}
		}
	}
}

// TestStatsTimeZoneChangeDuringParticipation changes the account's time
// zone while a participation is on its way to the writer: the statistics
// must count it in the zone the account has when it is written, as a
// restart would; its confirmation, later, moves the confirmed count of
// that day.
func TestStatsTimeZoneChangeDuringParticipation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := statstest.New(t)
	a := f.Account("acme", "UTC")
	a.Optin("news", statstest.OptinSpec{Name: "News", Language: "en", Display: assent.DisplayCheckbox, Double: true,
		Subcategories: []string{assent.CategoryNewsletterMarketing}})
	c := a.Campaign("main", "Main", "en", "news")
	// 20:00 UTC on 1 June is already 2 June in Kathmandu.
	when := time.Date(2026, 6, 1, 20, 0, 0, 0, time.UTC)
	changed := false
	f.Store.Now = func() time.Time {
		if !changed { // read by Participate once it has looked the account up
			changed = true
			if _, err := f.Store.UpdateAccount(ctx, a.ID, func(acc *assent.Account) { acc.TimeZone = "Asia/Kathmandu" }); err != nil {
				t.Error(err)
			}
		}
		return when
	}
	if _, _, err := f.Store.Participate(ctx, a.ID, c.ID, assent.Submission{Email: "ada@example.com",
		Answers: map[string]*bool{a.Optins["news"].ID: ptr(true)}}); err != nil {
		t.Fatal(err)
	}
	f.Store.Now = f.Clock.Now
	f.Clock.Set(when)
	requests := []statstest.Request{
		{Report: "global", From: "2026-06-01", To: "2026-06-01"},
		{Report: "global", From: "2026-06-02", To: "2026-06-02"},
		{Report: "campaign", Campaign: c.ID, From: "2026-05-25", To: "2026-06-05"},
	}
	checkReports(t, f, a.ID, "after the change", requests)
	for _, m := range a.TakeMails() {
		a.Confirm(m, when.Add(time.Hour))
	}
	checkReports(t, f, a.ID, "after the confirmation", requests)
	var rep statstest.CampaignReport
	report(t, f, a.ID, statstest.Request{Report: "campaign", Campaign: c.ID, From: "2026-06-02", To: "2026-06-02"}, &rep)
	if len(rep.Optins) != 1 || rep.Optins[0].Confirmed == nil || *rep.Optins[0].Confirmed != 1 {
		t.Errorf("confirmed on 2 June in Kathmandu: got %+v, want 1", rep.Optins)
	}
}

func ptr[T any](v T) *T { return &v }
