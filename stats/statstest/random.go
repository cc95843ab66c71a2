package statstest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/assentdev/assent"
)

// Zones are the time zones random accounts draw from: half-hour and
// 45-minute offsets, a negative half-hour one, and daylight saving.
var Zones = []string{"Europe/Brussels", "Asia/Kathmandu", "Australia/Eucla", "America/St_Johns", "Asia/Kolkata"}

// Random makes an account whose content is drawn from seed: custom
// subcategories in random categories, a dozen opt-ins (checkbox or radio,
// some mandatory, some double opt-in, one or two subcategories each) in
// en and fr, 22 campaigns (some with an empty form), and n participations
// between late March and early November (both daylight-saving changes),
// many of them within two minutes of a local midnight, from a pool of
// returning participants whose emails vary in case and spaces. Along the
// way it confirms most double opt-ins (some too late, so they expire),
// withdraws and erases a few participants, changes a form and archives an
// opt-in.
func (f *Fixture) Random(seed uint64, n int) *Account {
	f.T.Helper()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, 2026))
	a := f.Account(fmt.Sprintf("random-%d", seed), Zones[int(seed)%len(Zones)])
	loc, err := time.LoadLocation(a.TimeZone)
	if err != nil {
		f.T.Fatal(err)
	}
	keys := make([]string, len(assent.Categories))
	for i, c := range assent.Categories {
		keys[i] = c.Key
	}
	values := append([]string(nil), keys...) // the built-in subcategories' values
	for i := 0; i < 6; i++ {
		v := fmt.Sprintf("sub-%d", i)
		a.Subcategory(v, fmt.Sprintf("Sub %c", 'A'+r.IntN(5)), keys[r.IntN(len(keys))])
		values = append(values, v)
	}
	byLanguage := map[string][]string{}
	for i := 0; i < 12; i++ {
		lang := "en"
		if i >= 8 {
			lang = "fr"
		}
		s := OptinSpec{Name: fmt.Sprintf("Opt-in %c", 'A'+r.IntN(8)), Language: lang, Display: assent.DisplayCheckbox,
			Mandatory: r.IntN(8) == 0, Double: r.IntN(4) == 0}
		if r.IntN(3) == 0 {
			s.Display = assent.DisplayRadio
		}
		for _, j := range r.Perm(len(values))[:1+r.IntN(2)] {
			s.Subcategories = append(s.Subcategories, values[j])
		}
		short := fmt.Sprintf("o%d", i)
		a.Optin(short, s)
		byLanguage[lang] = append(byLanguage[lang], short)
	}
	form := func(lang string) []string {
		size := r.IntN(5) // 0 to 4 opt-ins
		pool := byLanguage[lang]
		var out []string
		for _, j := range r.Perm(len(pool))[:min(size, len(pool))] {
			out = append(out, pool[j])
		}
		return out
	}
	var campaigns []string
	for i := 0; i < 22; i++ {
		lang := "en"
		if r.IntN(3) == 0 {
			lang = "fr"
		}
		short := fmt.Sprintf("c%d", i)
		a.Campaign(short, fmt.Sprintf("Campaign %d", r.IntN(15)), lang, form(lang)...)
		campaigns = append(campaigns, short)
	}

	// Times: random days, half of them a moment from a local midnight.
	start := time.Date(2026, 3, 20, 0, 0, 0, 0, loc)
	times := make([]time.Time, n)
	for i := range times {
		y, m, d := start.AddDate(0, 0, r.IntN(230)).Date()
		midnight := time.Date(y, m, d, 0, 0, 0, 0, loc)
		if r.IntN(2) == 0 {
			times[i] = midnight.Add(time.Duration(r.IntN(240)-120) * time.Second)
		} else {
			times[i] = midnight.Add(time.Duration(r.Int64N(int64(24 * time.Hour))))
		}
		times[i] = times[i].Truncate(time.Microsecond).UTC()
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for i := 1; i < n; i++ {
		if !times[i].After(times[i-1]) {
			times[i] = times[i-1].Add(time.Microsecond)
		}
	}

	type confirmation struct {
		mail Mail
		at   time.Time
	}
	var queue []confirmation
	confirmUntil := func(t time.Time) {
		sort.SliceStable(queue, func(i, j int) bool { return queue[i].at.Before(queue[j].at) })
		for len(queue) > 0 && queue[0].at.Before(t) {
			a.Confirm(queue[0].mail, queue[0].at)
			queue = queue[1:]
		}
	}
	erased := 0
	for i, at := range times {
		confirmUntil(at)
		if i%25 == 0 {
			f.Expire(at)
		}
		if i == n/2 {
			f.Clock.Set(at)
			for _, c := range r.Perm(len(campaigns)) {
				if len(a.Campaigns[campaigns[c]].Optins) > 0 {
					a.SetForm(campaigns[c], form(a.Campaigns[campaigns[c]].Language)...)
					break
				}
			}
			placed := a.Campaigns[campaigns[r.IntN(len(campaigns))]].Optins
			if len(placed) > 0 {
				if _, _, err := f.Store.DeleteOptin(ctx, a.ID, placed[0]); err != nil {
					f.T.Fatal(err)
				}
			}
		}
		email := fmt.Sprintf("person%02d@example.com", r.IntN(r.IntN(70)+1))
		switch r.IntN(4) {
		case 0:
			email = "  " + strings.ToUpper(email[:1]) + email[1:] + " "
		case 1:
			email = strings.ToUpper(email)
		}
		short := campaigns[r.IntN(len(campaigns))]
		answers := map[string]*bool{}
		for _, id := range a.Campaigns[short].Optins {
			o := a.optinByID(id)
			switch {
			case o.Mandatory:
				answers[id] = ptr(true)
			case o.Display == assent.DisplayCheckbox || r.IntN(3) > 0:
				answers[id] = ptr(r.IntN(2) == 0)
			case r.IntN(2) == 0:
				answers[id] = nil // a radio left blank, sent as null
			}
		}
		a.Submit(at, short, email, answers)
		for _, m := range a.TakeMails() {
			if delay := time.Duration(r.Int64N(int64(9 * 24 * time.Hour))); r.IntN(5) > 0 && delay < 7*24*time.Hour-time.Second {
				queue = append(queue, confirmation{m, m.CreatedAt.Add(delay)})
			}
		}
		switch x := r.IntN(100); {
		case x < 4 && len(a.Participants) > 0:
			emails := sortedKeys(a.Participants)
			pid := a.Participants[emails[r.IntN(len(emails))]]
			f.Clock.Set(at.Add(time.Microsecond))
			var ids []string
			all := r.IntN(3) == 0
			if !all {
				ids = []string{a.optinByShort(fmt.Sprintf("o%d", r.IntN(12))).ID}
			}
			if _, err := f.Store.Withdraw(ctx, a.ID, pid, ids, all, assent.SourceAPI); err != nil {
				f.T.Fatal(err)
			}
		case x == 4 && erased < 3 && len(a.Participants) > 0:
			emails := sortedKeys(a.Participants)
			email := emails[r.IntN(len(emails))]
			f.Clock.Set(at.Add(time.Microsecond))
			a.Erase(email)
			erased++
			kept := queue[:0]
			for _, c := range queue {
				if c.mail.Recipient != email { // an erased participant's link no longer works
					kept = append(kept, c)
				}
			}
			queue = kept
		}
	}
	confirmUntil(times[n-1].Add(30 * 24 * time.Hour))
	f.Expire(times[n-1].Add(8 * 24 * time.Hour))
	return a
}

func (a *Account) optinByID(id string) assent.Optin {
	for _, o := range a.Optins {
		if o.ID == id {
			return o
		}
	}
	a.f.T.Fatalf("statstest: no opt-in %s", id)
	return assent.Optin{}
}

func (a *Account) optinByShort(short string) assent.Optin {
	o, ok := a.Optins[short]
	if !ok {
		a.f.T.Fatalf("statstest: no opt-in %s", short)
	}
	return o
}
