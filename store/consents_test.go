package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
	"github.com/assentdev/assent/store/storetest"
)

func stateOf(t *testing.T, s *store.Store, accountID, participantID, optinID string) assent.ConsentState {
	t.Helper()
	p, err := s.Participant(context.Background(), accountID, participantID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Consents {
		if c.OptinID == optinID {
			return c.State
		}
	}
	return ""
}

// wantState fails t unless the participant's state for the opt-in is want;
// when says at which step of the test.
func (f *formFixture) wantState(t *testing.T, participantID, optinID string, want assent.ConsentState, when string) {
	t.Helper()
	if got := stateOf(t, f.s, f.account.ID, participantID, optinID); got != want {
		t.Fatalf("%s: got %s, want %s", when, got, want)
	}
}

func (f *formFixture) participate(t *testing.T, email string, newsletter, daily bool) assent.Receipt {
	t.Helper()
	r, _, err := f.s.Participate(context.Background(), f.account.ID, f.campaign.ID, f.submit(email, map[string]*bool{
		f.newsletter.ID: &newsletter, f.rules.ID: yes(), f.daily.ID: &daily}))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestWithdraw(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	r := f.participate(t, "ada@example.com", true, true)
	p, err := f.s.Withdraw(ctx, f.account.ID, r.ParticipantID, []string{f.newsletter.ID}, false, assent.SourceAPI)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]assent.ConsentState{}
	for _, c := range p.Consents {
		states[c.OptinID] = c.State
	}
	if states[f.newsletter.ID] != assent.StateWithdrawn || states[f.rules.ID] != assent.StateGiven {
		t.Errorf("after withdrawing the newsletter: got %v, want newsletter withdrawn, rules given", states)
	}
	p, err = f.s.Withdraw(ctx, f.account.ID, r.ParticipantID, nil, true, assent.SourcePreferences)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range p.Consents {
		if c.State != assent.StateWithdrawn {
			t.Errorf("after withdrawing all, %s: got %s, want withdrawn", c.OptinName, c.State)
		}
	}
	if _, err := f.s.Withdraw(ctx, f.account.ID, r.ParticipantID, []string{"opt_nope"}, false, assent.SourceAPI); assent.ErrorCode(err) != assent.EINVALID {
		t.Errorf("unknown opt-in: got %v, want EINVALID", err)
	}
	if _, err := f.s.Withdraw(ctx, "acc_other", r.ParticipantID, nil, true, assent.SourceAPI); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Errorf("another account: got %v, want ENOTFOUND", err)
	}
	// Accepting again after a withdrawal gives consent again.
	f.participate(t, "ada@example.com", true, false)
	if got := stateOf(t, f.s, f.account.ID, r.ParticipantID, f.newsletter.ID); got != assent.StateGiven {
		t.Errorf("accepted again after withdrawal: got %s, want given", got)
	}
}

// pendingToken takes the token of the newest queued confirmation email.
func pendingToken(t *testing.T, s *store.Store) string {
	t.Helper()
	mails, err := s.DueMails(context.Background(), 10)
	if err != nil || len(mails) == 0 {
		t.Fatalf("queued mails: %v %v", mails, err)
	}
	return mails[len(mails)-1].Token
}

func TestConfirm(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	r := f.participate(t, "ada@example.com", false, true)
	f.wantState(t, r.ParticipantID, f.daily.ID, assent.StatePending, "before confirmation")
	token := pendingToken(t, f.s)
	info, err := f.s.ConfirmationByToken(ctx, token)
	if err != nil || info.Confirmed || len(info.Optins) != 1 || info.Optins[0] != "Daily deals text" {
		t.Fatalf("confirmation info: got %+v %v", info, err)
	}
	f.wantState(t, r.ParticipantID, f.daily.ID, assent.StatePending, "looking at the link confirmed it")
	if _, err := f.s.Confirm(ctx, token); err != nil {
		t.Fatal(err)
	}
	f.wantState(t, r.ParticipantID, f.daily.ID, assent.StateGiven, "after confirmation")
	// Single use: a second confirmation records nothing more.
	before := countEvents(t, f.s)
	info, err = f.s.Confirm(ctx, token)
	if err != nil || !info.Confirmed || countEvents(t, f.s) != before {
		t.Errorf("second use: got %+v %v, %d events, want confirmed and no new event", info, err, countEvents(t, f.s)-before)
	}
	if _, err := f.s.Confirm(ctx, token+"x"); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Errorf("wrong token: got %v, want ENOTFOUND", err)
	}
	// Accepting again once given sends no new confirmation.
	f.participate(t, "ada@example.com", false, true)
	f.wantState(t, r.ParticipantID, f.daily.ID, assent.StateGiven, "accepted again")
	if n := countRows(t, f.s, "confirmations"); n != 1 {
		t.Errorf("confirmations: got %d, want 1", n)
	}
}

func TestExpireConfirmations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	f.s.Now = func() time.Time { return now }
	r := f.participate(t, "ada@example.com", false, true)
	token := pendingToken(t, f.s)

	now = now.Add(store.DefaultConfirmationTTL - time.Minute)
	if n, err := f.s.ExpireConfirmations(ctx); err != nil || n != 0 {
		t.Fatalf("before the deadline: expired %d (%v), want 0", n, err)
	}
	now = now.Add(2 * time.Minute)
	if n, err := f.s.ExpireConfirmations(ctx); err != nil || n != 1 {
		t.Fatalf("after the deadline: expired %d (%v), want 1", n, err)
	}
	f.wantState(t, r.ParticipantID, f.daily.ID, assent.StateExpired, "after expiry")
	if _, err := f.s.Confirm(ctx, token); assent.ErrorCode(err) != assent.ECONFLICT {
		t.Errorf("confirming an expired link: got %v, want ECONFLICT", err)
	}
	if n, _ := f.s.ExpireConfirmations(ctx); n != 0 {
		t.Errorf("expiring twice: got %d, want 0", n)
	}
}

// A participant who accepts a double opt-in again before the first link
// expires gets a second link; the first one's expiry must leave the
// consent pending for it, and the second link must still confirm.
func TestExpiryLeavesALaterLinkWorking(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	f.s.Now = func() time.Time { return now }
	r := f.participate(t, "ada@example.com", false, true)
	now = now.Add(3 * 24 * time.Hour)
	f.participate(t, "ada@example.com", false, true)
	second := pendingToken(t, f.s)

	now = now.Add(store.DefaultConfirmationTTL - 24*time.Hour) // the first link is past due, the second is not
	if n, err := f.s.ExpireConfirmations(ctx); err != nil || n != 1 {
		t.Fatalf("expired %d (%v), want the first confirmation", n, err)
	}
	f.wantState(t, r.ParticipantID, f.daily.ID, assent.StatePending, "after the first link expired")
	if _, err := f.s.Confirm(ctx, second); err != nil {
		t.Fatal(err)
	}
	f.wantState(t, r.ParticipantID, f.daily.ID, assent.StateGiven, "after the second link")
}

func TestEraseKeepsAnonymousProof(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	r := f.participate(t, "ada@example.com", true, true)
	token, err := f.s.PreferencesToken(ctx, f.account.ID, r.ParticipantID)
	if err != nil {
		t.Fatal(err)
	}
	// The confirmation email went out before the erasure: the outbox
	// still holds the address until then.
	mails, err := f.s.ClaimMails(ctx, 10, time.Minute)
	if err != nil || len(mails) != 1 {
		t.Fatalf("claim: %v %v", mails, err)
	}
	if err := f.s.MailSent(ctx, mails[0].ID); err != nil {
		t.Fatal(err)
	}
	events := countEvents(t, f.s)
	if err := f.s.Erase(ctx, f.account.ID, r.ParticipantID); err != nil {
		t.Fatal(err)
	}
	if n, err := store.ScalarForTest(f.s, `SELECT COUNT(*) FROM mail_outbox WHERE recipient <> ''`); err != nil || n != "0" {
		t.Errorf("emails still holding the address after erasure: %s (%v), want 0", n, err)
	}
	if _, err := f.s.ParticipantByEmail(ctx, f.account.ID, "ada@example.com"); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Errorf("found by email after erasure: %v", err)
	}
	pr, err := f.s.Proof(ctx, f.account.ID, r.ParticipantID)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Participant.Email != "" || pr.Participant.ErasedAt == nil || pr.Participations[0].UserAgent != "" {
		t.Errorf("personal data after erasure: %+v", pr.Participant)
	}
	if len(pr.Events) != events || countEvents(t, f.s) != events {
		t.Errorf("events after erasure: got %d, want %d", len(pr.Events), events)
	}
	if _, err := f.s.ParticipantByPreferencesToken(ctx, token); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Errorf("preferences link after erasure: got %v, want ENOTFOUND", err)
	}
	if mails, _ := f.s.DueMails(ctx, 10); len(mails) != 0 {
		t.Errorf("mail still due after erasure: %+v", mails)
	}
	if c, err := f.s.VerifyLedger(ctx, f.account.ID); err != nil || !c.OK {
		t.Errorf("ledger after erasure: %+v %v, want intact", c, err)
	}
	// A new participation by the same address is a new participant.
	r2 := f.participate(t, "ada@example.com", true, false)
	if !r2.NewParticipant || r2.ParticipantID == r.ParticipantID {
		t.Errorf("after erasure: got participant %s new %v, want a new one", r2.ParticipantID, r2.NewParticipant)
	}
}

// TestConfirmationRecordsTheVersionAccepted changes the text of a double
// opt-in between the participation and its confirmation: the confirmed
// event names the version the participant read, not the new one.
func TestConfirmationRecordsTheVersionAccepted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	r := f.participate(t, "ada@example.com", false, true)
	token := pendingToken(t, f.s)
	if _, err := f.s.UpdateOptin(ctx, f.account.ID, f.daily.ID, func(o *assent.Optin) { o.Text = "Version two" }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Confirm(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Withdraw(ctx, f.account.ID, r.ParticipantID, []string{f.daily.ID}, false, assent.SourceAPI); err != nil {
		t.Fatal(err)
	}
	pr, err := f.s.Proof(ctx, f.account.ID, r.ParticipantID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range pr.Events {
		if e.OptinID == f.daily.ID {
			got = append(got, fmt.Sprintf("%s v%d %q", e.Type, e.OptinVersion, e.Shown.Text))
		}
	}
	want := []string{`pending v1 "Daily deals text"`, `confirmed v1 "Daily deals text"`, `withdrawn v1 "Daily deals text"`}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("events of the double opt-in:\ngot  %s\nwant %s", strings.Join(got, "; "), strings.Join(want, "; "))
	}
}

func TestProofHasTheTextShown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	r := f.participate(t, "ada@example.com", true, false)
	if _, err := f.s.UpdateOptin(ctx, f.account.ID, f.newsletter.ID, func(o *assent.Optin) { o.Text = "New text" }); err != nil {
		t.Fatal(err)
	}
	pr, err := f.s.Proof(ctx, f.account.ID, r.ParticipantID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range pr.Events {
		if e.OptinID == f.newsletter.ID && (e.Shown.Text != "Newsletter text" || e.OptinVersion != 1) {
			t.Errorf("proof of the newsletter: got version %d text %q, want version 1 %q", e.OptinVersion, e.Shown.Text, "Newsletter text")
		}
		if e.IPHash == "" || strings.Contains(e.IPHash, "192.0.2.1") {
			t.Errorf("ip hash: got %q, want a keyed hash", e.IPHash)
		}
	}
	form := pr.Participations[0].Form
	if len(form) != 4 || form[0].OptinID != f.newsletter.ID || form[0].OptinVersion != 1 || form[3].Position != 3 ||
		form[2].Response != nil || *form[0].Response != true {
		t.Errorf("the form in the proof: got %+v, want the four opt-ins in order, version 1, partners unanswered", form)
	}
	if len(pr.Events) != 4 || pr.Events[0].CampaignName != "Contest" {
		t.Errorf("events: got %d (campaign %q), want 4 of Contest", len(pr.Events), pr.Events[0].CampaignName)
	}
}

func TestPreferencesToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	r := f.participate(t, "ada@example.com", true, false)
	other := f.participate(t, "bob@example.com", true, false)
	token, err := f.s.PreferencesToken(ctx, f.account.ID, r.ParticipantID)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := f.s.ParticipantByPreferencesToken(ctx, token); err != nil || p.ID != r.ParticipantID {
		t.Fatalf("valid token: got %s %v", p.ID, err)
	}
	_, mac, _ := strings.Cut(token, ".")
	for name, bad := range map[string]string{
		"tampered mac":        token[:len(token)-2] + "xx",
		"another person":      other.ParticipantID + "." + mac,
		"no mac":              r.ParticipantID,
		"empty":               "",
		"unknown participant": "ptc_nope." + mac,
	} {
		if _, err := f.s.ParticipantByPreferencesToken(ctx, bad); assent.ErrorCode(err) != assent.ENOTFOUND {
			t.Errorf("%s: got %v, want ENOTFOUND", name, err)
		}
	}
}

func TestVerifyLedgerFindsTampering(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name    string
		tamper  string
		wantSeq int64
		problem string
	}{
		// Each participation is one record of four events: 1-4, 5-8, 9-12.
		{"edited event", `UPDATE ledger_records SET events = replace(events, 'refused', 'given') WHERE seq = 1`, 1,
			"does not match its hash"},
		{"edited record", `UPDATE ledger_records SET ip_hash = 'x' WHERE seq = 5`, 5, "does not match its hash"},
		{"edited hash", `UPDATE ledger_records SET prev_hash = 'x' WHERE seq = 9`, 9, "previous hash"},
		{"garbled record", `UPDATE ledger_records SET events = 'x' WHERE seq = 5`, 5, "malformed event"},
		{"deleted record", `DELETE FROM ledger_records WHERE seq = 5`, 9, "missing"},
		{"deleted newest record", `DELETE FROM ledger_records WHERE seq = 9`, 9, "newest ones are missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFormFixture(t)
			f.participate(t, "ada@example.com", false, false) // events 1-4: refused, given, unanswered, refused
			f.participate(t, "bob@example.com", true, false)  // events 5-8
			f.participate(t, "cy@example.com", true, true)    // events 9-12
			if c, err := f.s.VerifyLedger(ctx, f.account.ID); err != nil || !c.OK || c.Events != 12 {
				t.Fatalf("before tampering: got %+v %v, want 12 events OK", c, err)
			}
			if err := store.ExecForTest(f.s, tt.tamper); err != nil {
				t.Fatal(err)
			}
			c, err := f.s.VerifyLedger(ctx, f.account.ID)
			if err != nil {
				t.Fatal(err)
			}
			if c.OK || c.Broken == nil || c.Broken.Seq != tt.wantSeq || !strings.Contains(c.Broken.Problem, tt.problem) {
				t.Errorf("got %+v (broken %+v), want a break at %d: %s", c, c.Broken, tt.wantSeq, tt.problem)
			}
		})
	}
}

func countEvents(t *testing.T, s *store.Store) int {
	t.Helper()
	n, err := store.CountEventsForTest(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func countRows(t *testing.T, s *store.Store, table string) int {
	t.Helper()
	n, err := s.CountRows(context.Background(), table)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestConsentWebhookCarriesTheVersionAccepted changes a double opt-in's
// text before its confirmation: the consent.confirmed payload, like the
// ledger, names the version the participant accepted and its text.
func TestConsentWebhookCarriesTheVersionAccepted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	if _, err := f.s.CreateWebhook(ctx, f.account.ID, assent.WebhookEndpoint{URL: "https://example.com/hook",
		Events: []string{assent.WebhookConsentConfirmed}, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	f.participate(t, "ada@example.com", false, true)
	token := pendingToken(t, f.s)
	if _, err := f.s.UpdateOptin(ctx, f.account.ID, f.daily.ID, func(o *assent.Optin) { o.Text = "Version two" }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Confirm(ctx, token); err != nil {
		t.Fatal(err)
	}
	payload, err := store.ScalarForTest(f.s, `SELECT payload FROM webhook_events WHERE type = $1`, assent.WebhookConsentConfirmed)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(payload, `"version":1,"text":"Daily deals text"`) || strings.Contains(payload, "Version two") {
		t.Errorf("consent.confirmed payload: got %s, want version 1 and its text", payload)
	}
}

func TestClaimMails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	now := time.Now().UTC().Truncate(time.Second)
	f.s.Now = func() time.Time { return now }
	const n = 7
	for i := range n {
		f.participate(t, fmt.Sprintf("p%d@example.com", i), false, true) // daily deals waits for a confirmation
	}
	// Two senders at once (two workers, or two processes on PostgreSQL)
	// claim different emails, never more than their limit.
	var wg sync.WaitGroup
	claims := make([][]store.Mail, 2)
	errs := make([]error, 2)
	for i := range claims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			claims[i], errs[i] = f.s.ClaimMails(ctx, 3, time.Minute)
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, c := range claims {
		if errs[i] != nil || len(c) != 3 {
			t.Fatalf("claim %d: %d mails (%v), want 3", i, len(c), errs[i])
		}
		for _, m := range c {
			if seen[m.ID] || m.Attempts != 1 || m.Token == "" || m.Recipient == "" || m.ConfirmationID == "" {
				t.Errorf("claim %d: %+v claimed twice or incomplete", i, m)
			}
			seen[m.ID] = true
		}
	}
	last, err := f.s.ClaimMails(ctx, 3, time.Minute)
	if err != nil || len(last) != 1 || seen[last[0].ID] {
		t.Fatalf("third claim: %+v (%v), want the one left", last, err)
	}
	if again, err := f.s.ClaimMails(ctx, 10, time.Minute); err != nil || len(again) != 0 {
		t.Fatalf("claim while leased: %+v (%v), want none", again, err)
	}
	if err := f.s.MailsSent(ctx, []string{last[0].ID}); err != nil {
		t.Fatal(err)
	}
	// Once the lease ends, what was not recorded as sent is claimed again.
	now = now.Add(time.Minute)
	again, err := f.s.ClaimMails(ctx, 10, time.Minute)
	if err != nil || len(again) != n-1 {
		t.Fatalf("claim after the lease: %d mails (%v), want %d", len(again), err, n-1)
	}
	for _, m := range again {
		if !seen[m.ID] || m.Attempts != 2 {
			t.Errorf("claimed after the lease: %+v, want a second attempt of an earlier claim", m)
		}
	}
}

// TestProofFindsEveryEventOfTheParticipant checks that a participant's
// proof holds the events of their participations and those of no
// participation (a confirmation, a withdrawal), in the chain's order, and
// nothing of another participant: since migration 13 the two kinds are
// found by different indexes.
func TestProofFindsEveryEventOfTheParticipant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFormFixture(t)
	first := f.participate(t, "ada@example.com", true, true) // daily deals waits for a confirmation
	f.participate(t, "bob@example.com", true, true)
	mails, err := f.s.ClaimMails(ctx, 10, time.Minute)
	if err != nil || len(mails) != 2 {
		t.Fatalf("claim: %d mails (%v)", len(mails), err)
	}
	for _, m := range mails {
		if m.Recipient == "ada@example.com" {
			if _, err := f.s.Confirm(ctx, m.Token); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := f.s.Withdraw(ctx, f.account.ID, first.ParticipantID, []string{f.newsletter.ID}, false,
		assent.SourceAPI); err != nil {
		t.Fatal(err)
	}
	f.participate(t, "bob@example.com", false, false)
	second := f.participate(t, "ada@example.com", true, false)
	pr, err := f.s.Proof(ctx, f.account.ID, first.ParticipantID)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for i, e := range pr.Events {
		if e.ParticipantID != first.ParticipantID {
			t.Errorf("event %d is of participant %s", e.Seq, e.ParticipantID)
		}
		if i > 0 && e.Seq <= pr.Events[i-1].Seq {
			t.Errorf("event %d after %d: not in the chain's order", e.Seq, pr.Events[i-1].Seq)
		}
		if e.ParticipationID != "" && e.ParticipationID != first.ID && e.ParticipationID != second.ID {
			t.Errorf("event %d of participation %s", e.Seq, e.ParticipationID)
		}
		types = append(types, string(e.Type))
	}
	// Four opt-ins on the form, twice; the confirmation and the withdrawal
	// in between.
	want := "given given unanswered pending confirmed withdrawn given given unanswered refused"
	if got := strings.Join(types, " "); got != want {
		t.Errorf("events: got %q, want %q", got, want)
	}
	if len(pr.Confirmations) != 1 || pr.Confirmations[0].ConfirmedAt == nil {
		t.Errorf("confirmations: got %+v, want the one confirmed", pr.Confirmations)
	}
	// Not through another account.
	other := storetest.Account(t, f.s, "other")
	if _, err := f.s.Proof(ctx, other.ID, first.ParticipantID); assent.ErrorCode(err) != assent.ENOTFOUND {
		t.Errorf("proof through another account: got %v, want ENOTFOUND", err)
	}
}
