package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/stats/statstest"
	"github.com/assentdev/assent/store"
	"github.com/assentdev/assent/store/storetest"
)

// TestImportEqualsRecount imports past participations, in batches of
// several sizes, into an account that already has participations from the
// API, with returning participants (also several times in one batch),
// radios left blank and confirmed double opt-ins. Every report and
// audience then equals the recount of the stored rows, the ledger holds,
// a restart answers the same, and the import sent no email.
func TestImportEqualsRecount(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{4, 6} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := statstest.New(t)
			a := f.Random(seed, 60)
			r := rand.New(rand.NewPCG(seed, 11))
			mailsBefore := storetest.Count(t, f.Store, "mail_outbox")
			start := a.Last.Add(31 * 24 * time.Hour)
			f.Clock.Set(start.Add(40 * 24 * time.Hour))

			shorts := make([]string, 0, len(a.Campaigns))
			for short := range a.Campaigns {
				shorts = append(shorts, short)
			}
			sort.Strings(shorts)
			lines := make([]store.ImportLine, 400)
			for i := range lines {
				at := start.Add(time.Duration(i) * 31 * time.Minute).Add(time.Duration(r.IntN(1000)) * time.Microsecond)
				c := a.Campaigns[shorts[r.IntN(len(shorts))]]
				line := store.ImportLine{CampaignID: c.ID, CreatedAt: at, Submission: assent.Submission{
					Email: fmt.Sprintf("Person%02d@example.com", r.IntN(90)), FirstName: "Imported",
					Answers: map[string]*bool{}, IP: "198.51.100.4", UserAgent: "import test"}}
				for _, id := range c.Optins {
					o := optinOf(a, id)
					switch {
					case o.Mandatory:
						line.Submission.Answers[id] = yes()
					case o.Display == assent.DisplayCheckbox || r.IntN(3) > 0:
						line.Submission.Answers[id] = ptrBool(r.IntN(2) == 0)
					case r.IntN(2) == 0:
						line.Submission.Answers[id] = nil
					}
					if o.DoubleOptin && answered(line.Submission.Answers[id]) && r.IntN(2) == 0 {
						line.Confirmed = append(line.Confirmed, id)
					}
				}
				lines[i] = line
			}
			im, err := f.Store.NewImporter(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			for i := range lines {
				if err := im.Check(ctx, &lines[i]); err != nil {
					t.Fatalf("line %d: %v", i, err)
				}
			}
			for _, size := range []int{1, 7, 50, 400} {
				n := min(size, len(lines))
				if err := im.Write(ctx, lines[:n]); err != nil {
					t.Fatal(err)
				}
				lines = lines[n:]
			}

			first := a.First.AddDate(0, 0, -1).Format(time.DateOnly)
			last := f.Clock.Now().AddDate(0, 0, 1).Format(time.DateOnly)
			list := f.Load(a.ID).Requests(first, last, r.IntN)
			checkReports(t, f, a.ID, "after the import", list)
			checkAudiences(t, f, a.ID, "after the import")
			if got := storetest.Count(t, f.Store, "mail_outbox"); got != mailsBefore {
				t.Errorf("emails: got %d, want %d: an import sends none", got, mailsBefore)
			}
			check, err := f.Store.VerifyLedger(ctx, a.ID)
			if err != nil || !check.OK {
				t.Fatalf("ledger after the import: %+v, %v", check, err)
			}

			before := make([][]byte, len(list))
			for i, req := range list {
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
		})
	}
}

func optinOf(a *statstest.Account, id string) assent.Optin {
	for _, o := range a.Optins {
		if o.ID == id {
			return o
		}
	}
	panic("no opt-in " + id)
}

func ptrBool(b bool) *bool { return &b }

func answered(b *bool) bool { return b != nil && *b }

// TestImportRefusesLines checks each reason a line is refused, under its
// field, and that a refused line cannot be written.
func TestImportRefusesLines(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	now := time.Now().UTC()
	good := func() store.ImportLine {
		return store.ImportLine{CampaignID: f.campaign.ID, CreatedAt: now.Add(-time.Hour), Submission: f.submit("ann@example.com",
			map[string]*bool{f.newsletter.ID: yes(), f.rules.ID: yes(), f.partners.ID: nil, f.daily.ID: yes()})}
	}
	tests := []struct {
		name   string
		change func(*store.ImportLine)
		field  string
	}{
		{"no time", func(l *store.ImportLine) { l.CreatedAt = time.Time{} }, "created_at"},
		{"in the future", func(l *store.ImportLine) { l.CreatedAt = now.Add(time.Hour) }, "created_at"},
		{"no campaign", func(l *store.ImportLine) { l.CampaignID = "" }, "campaign_id"},
		{"unknown campaign", func(l *store.ImportLine) { l.CampaignID = "cmp_nope" }, "campaign_id"},
		{"bad email", func(l *store.ImportLine) { l.Submission.Email = "ann" }, "email"},
		{"mandatory refused", func(l *store.ImportLine) { l.Submission.Answers[f.rules.ID] = no() }, "answers." + f.rules.ID},
		{"opt-in missing", func(l *store.ImportLine) { delete(l.Submission.Answers, f.newsletter.ID) }, "answers." + f.newsletter.ID},
		{"confirmed but refused", func(l *store.ImportLine) {
			l.Submission.Answers[f.daily.ID] = no()
			l.Confirmed = []string{f.daily.ID}
		}, "confirmed"},
		{"confirmed single opt-in", func(l *store.ImportLine) { l.Confirmed = []string{f.newsletter.ID} }, "confirmed"},
	}
	im, err := f.s.NewImporter(ctx, f.account.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := good()
			tt.change(&line)
			err := im.Check(ctx, &line)
			var de *assent.Error
			if !asError(err, &de) || de.Code != assent.EINVALID || de.Fields[tt.field] == "" {
				t.Fatalf("got %v, want EINVALID naming %s", err, tt.field)
			}
			if err := im.Write(ctx, []store.ImportLine{line}); err == nil {
				t.Fatal("a refused line was written")
			}
		})
	}
	if n := storetest.Count(t, f.s, "participations"); n != 0 {
		t.Errorf("participations: got %d, want 0", n)
	}
	line := good()
	if err := im.Check(ctx, &line); err != nil {
		t.Fatalf("a good line: %v", err)
	}
}

// TestImportSamePersonInOneBatch writes one participant's participations
// in one transaction: the first is new, the next are not, a refusal after
// an acceptance leaves the consent given, and a confirmed double opt-in is
// given at once, with no email.
func TestImportSamePersonInOneBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	at := time.Now().UTC().Add(-48 * time.Hour)
	line := func(d time.Duration, email string, newsletter *bool, daily *bool, confirmed ...string) store.ImportLine {
		return store.ImportLine{CampaignID: f.campaign.ID, CreatedAt: at.Add(d), Confirmed: confirmed,
			Submission: f.submit(email, map[string]*bool{f.newsletter.ID: newsletter, f.rules.ID: yes(),
				f.partners.ID: nil, f.daily.ID: daily})}
	}
	lines := []store.ImportLine{
		line(0, "bo@example.com", yes(), yes(), f.daily.ID),
		line(time.Minute, "BO@example.com ", no(), no()),
		line(2*time.Minute, "cy@example.com", no(), yes()),
	}
	importOneBatch(t, f.s, f.account.ID, lines)
	for table, want := range map[string]int{"participants": 2, "participations": 3,
		"confirmations": 1, "mail_outbox": 0} {
		if got := storetest.Count(t, f.s, table); got != want {
			t.Errorf("%s: got %d, want %d", table, got, want)
		}
	}
	if got := countEvents(t, f.s); got != 12 {
		t.Errorf("events: got %d, want 12", got)
	}
	r, _, err := f.s.Participate(ctx, f.account.ID, f.campaign.ID, f.submit("bo@example.com",
		map[string]*bool{f.newsletter.ID: no(), f.rules.ID: yes(), f.partners.ID: nil, f.daily.ID: no()}))
	if err != nil {
		t.Fatal(err)
	}
	if r.NewParticipant {
		t.Error("bo after the import: got a new participant")
	}
	want := map[string]assent.ConsentState{f.newsletter.ID: "given", f.rules.ID: "given", f.daily.ID: "given"}
	for _, a := range r.Optins {
		if w, ok := want[a.ID]; ok && a.State != w {
			t.Errorf("bo's %s: got %q, want %q", a.ID, a.State, w)
		}
	}
}

// importOneBatch checks lines and imports them in one batch.
func importOneBatch(t *testing.T, s *store.Store, accountID string, lines []store.ImportLine) {
	t.Helper()
	ctx := context.Background()
	im, err := s.NewImporter(ctx, accountID)
	if err != nil {
		t.Fatal(err)
	}
	for i := range lines {
		if err := im.Check(ctx, &lines[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := im.Write(ctx, lines); err != nil {
		t.Fatal(err)
	}
	if err := im.Finish(ctx); err != nil {
		t.Fatal(err)
	}
}

// expiries lists a participant's expired events for an opt-in, as
// "confirmation@time".
func expiries(t *testing.T, s *store.Store, accountID, participantID, optinID string) []string {
	t.Helper()
	p, err := s.Proof(context.Background(), accountID, participantID)
	if err != nil {
		t.Fatal(err)
	}
	cnf := map[string]int{}
	for i, c := range p.Confirmations {
		cnf[c.ID] = i + 1
	}
	var got []string
	for _, e := range p.Events {
		if e.OptinID == optinID && e.Type == assent.EventExpired {
			got = append(got, fmt.Sprintf("cnf%d@%s", cnf[e.ConfirmationID], e.CreatedAt.UTC().Format(time.DateTime)))
		}
	}
	return got
}

// An imported double opt-in whose confirmation ran out before the import
// is expired by the import itself, at the time it expired, so that serve
// finds no backlog of expiries; one that a later line accepted again
// waits for that line's confirmation, as it would have live.
func TestImportExpiresLapsedConfirmations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	now := time.Now().UTC().Truncate(time.Second)
	f.s.Now = func() time.Time { return now }
	day := 24 * time.Hour
	ttl := store.DefaultConfirmationTTL
	line := func(ago time.Duration, email string) store.ImportLine {
		return store.ImportLine{CampaignID: f.campaign.ID, CreatedAt: now.Add(-ago),
			Submission: f.submit(email, map[string]*bool{f.newsletter.ID: no(), f.rules.ID: yes(),
				f.partners.ID: nil, f.daily.ID: yes()})}
	}
	lines := []store.ImportLine{
		line(20*day, "bo@example.com"), // accepted again before it expired: only the second expires
		line(10*day, "ann@example.com"),
		line(10*day, "cy@example.com"), // accepted again two days ago: still open
		line(15*day, "bo@example.com"),
		line(2*day, "cy@example.com"),
	}
	importOneBatch(t, f.s, f.account.ID, lines)
	at := func(ago time.Duration) string { return now.Add(-ago).Add(ttl).Format(time.DateTime) }
	ids := map[string]string{}
	for _, l := range lines {
		r, err := f.s.ParticipantByEmail(ctx, f.account.ID, l.Submission.Email)
		if err != nil {
			t.Fatal(err)
		}
		ids[l.Submission.Email] = r.ID
	}
	for _, tc := range []struct {
		email string
		state assent.ConsentState
		want  []string
	}{
		{"ann@example.com", assent.StateExpired, []string{"cnf1@" + at(10*day)}},
		{"bo@example.com", assent.StateExpired, []string{"cnf2@" + at(15*day)}},
		{"cy@example.com", assent.StatePending, nil},
	} {
		if got := stateOf(t, f.s, f.account.ID, ids[tc.email], f.daily.ID); got != tc.state {
			t.Errorf("%s: got %s, want %s", tc.email, got, tc.state)
		}
		if got := expiries(t, f.s, f.account.ID, ids[tc.email], f.daily.ID); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s's expired events: got %v, want %v", tc.email, got, tc.want)
		}
	}
	if n, err := f.s.ExpireConfirmations(ctx); err != nil || n != 0 {
		t.Errorf("expiries left after the import: got %d (%v), want 0", n, err)
	}
	now = now.Add(6 * day)
	if n, err := f.s.ExpireConfirmations(ctx); err != nil || n != 1 {
		t.Errorf("cy's open confirmation once due: expired %d (%v), want 1", n, err)
	}
	if got := expiries(t, f.s, f.account.ID, ids["cy@example.com"], f.daily.ID); fmt.Sprint(got) != fmt.Sprint([]string{"cnf2@" + at(8*day)}) {
		t.Errorf("cy's expired events: got %v", got)
	}
	if c, err := f.s.VerifyLedger(ctx, f.account.ID); err != nil || !c.OK {
		t.Errorf("ledger: got %+v %v", c, err)
	}
}
