package store_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/stats/statstest"
	"github.com/assentdev/assent/store"
	"github.com/assentdev/assent/store/storetest"
)

// TestMigrateParticipationsOfRelease6 writes participations as schema 6
// stored them (a row per answer, no numbers) and migrates them: they are
// numbered in the order of their ids, their answers move into their row
// in form order, and the statistics, the proof and the next participation
// read them as if written today.
func TestMigrateParticipationsOfRelease6(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := storetest.DSN(t)
	s, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := store.MigrateToForTest(s, 6); err != nil {
		t.Fatal(err)
	}
	// Accounts, opt-ins and campaigns have not changed since: made as today.
	acct, err := s.CreateAccount(ctx, "acme", "UTC")
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name, display string, double bool) assent.Optin {
		o, err := s.CreateOptin(ctx, acct.ID, assent.Optin{Name: name, Language: "en", Text: name + " text",
			Display: display, DoubleOptin: double, Subcategories: []string{assent.CategoryNewsletterMarketing}})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	news, deals, radio := mk("News", assent.DisplayCheckbox, false), mk("Deals", assent.DisplayCheckbox, true),
		mk("Radio", assent.DisplayRadio, false)
	c, err := s.CreateCampaign(ctx, acct.ID, assent.Campaign{Name: "Contest", Language: "en",
		Optins: []string{news.ID, deals.ID, radio.ID}})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC).UnixMicro()
	// The account's one event, hashed as the chain wants, so that the
	// ledger verifies after the migration.
	event := assent.ConsentEvent{ID: "evt_1", AccountID: acct.ID, Seq: 1, ParticipantID: "ptc_1", OptinID: deals.ID,
		OptinVersion: 1, Type: assent.EventGiven, ParticipationID: "par_1", CampaignID: c.ID, Source: "api", IPHash: "h",
		CreatedAt: time.UnixMicro(at).UTC(), PrevHash: assent.GenesisHash}
	event.Hash = event.ComputeHash()
	rows := []struct {
		query string
		args  []any
	}{
		{`INSERT INTO participants (id, account_id, seq, email, first_name, last_name, created_at)
			VALUES ('ptc_1', $1, 1, 'ada@example.com', 'Ada', '', $2)`, []any{acct.ID, at}},
		{`UPDATE accounts SET participants_count = 1, ledger_seq = 1, ledger_hash = $2 WHERE id = $1`,
			[]any{acct.ID, event.Hash}},
		// Two participations, the later id inserted first.
		{`INSERT INTO participations (id, account_id, campaign_id, participant_id, participant_seq, new_participant,
			created_at, day, ip_hash, user_agent, utm_source, utm_medium, utm_campaign, utm_term, utm_content, source)
			VALUES ('par_2', $1, $2, 'ptc_1', 1, FALSE, $3, 20260302, 'h', 'ua', '', '', '', '', '', 'api')`,
			[]any{acct.ID, c.ID, at + 60e6}},
		{`INSERT INTO participations (id, account_id, campaign_id, participant_id, participant_seq, new_participant,
			created_at, day, ip_hash, user_agent, utm_source, utm_medium, utm_campaign, utm_term, utm_content, source)
			VALUES ('par_1', $1, $2, 'ptc_1', 1, TRUE, $3, 20260302, 'h', 'ua', '', '', '', '', '', 'api')`,
			[]any{acct.ID, c.ID, at}},
		// Answer rows out of form order: deals accepted and confirmed,
		// news refused, the radio left blank; then all three accepted,
		// deals not confirmed.
		{`INSERT INTO participation_answers (participation_id, optin_id, optin_version, position, response, confirmed)
			VALUES ('par_1', $1, 1, 2, NULL, FALSE), ('par_1', $2, 1, 0, FALSE, FALSE), ('par_1', $3, 1, 1, TRUE, TRUE),
			('par_2', $2, 1, 0, TRUE, TRUE), ('par_2', $3, 1, 1, TRUE, FALSE), ('par_2', $1, 1, 2, TRUE, TRUE)`,
			[]any{radio.ID, news.ID, deals.ID}},
		// The ledger and the states (abridged: one event each).
		{`INSERT INTO consent_events (id, account_id, seq, participant_id, optin_id, optin_version, type, participation_id,
			campaign_id, confirmation_id, source, ip_hash, created_at, prev_hash, hash)
			VALUES ('evt_1', $1, 1, 'ptc_1', $2, 1, 'given', 'par_1', $3, NULL, 'api', 'h', $4, $5, $6)`,
			[]any{acct.ID, deals.ID, c.ID, at, event.PrevHash, event.Hash}},
		{`INSERT INTO consents (account_id, participant_id, optin_id, state, added_at, updated_at)
			VALUES ($1, 'ptc_1', $2, 'given', $3, $3)`, []any{acct.ID, deals.ID, at}},
	}
	for _, r := range rows {
		if err := store.ExecForTest(s, r.query, r.args...); err != nil {
			t.Fatalf("%s: %v", r.query, err)
		}
	}

	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, check := range []struct{ query, want string }{
		{`SELECT answers FROM participations WHERE id = 'par_1'`, "00" + "1:" + news.ID + ",11" + "1:" + deals.ID + ",-0" + "1:" + radio.ID},
		{`SELECT answers FROM participations WHERE id = 'par_2'`, "11" + "1:" + news.ID + ",10" + "1:" + deals.ID + ",11" + "1:" + radio.ID},
		{`SELECT seq FROM participations WHERE id = 'par_1'`, "1"},
		{`SELECT seq FROM participations WHERE id = 'par_2'`, "2"},
		{`SELECT participations_count FROM accounts WHERE id = '` + acct.ID + `'`, "2"},
	} {
		if got, err := store.ScalarForTest(s, check.query); err != nil || got != check.want {
			t.Errorf("%s: got %q (%v), want %q", check.query, got, err, check.want)
		}
	}

	// The statistics count them from the migrated rows.
	if err := s.LoadStats(ctx); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Participations int64
		Optins         []struct {
			ID          string
			Conversions int64
			Confirmed   int64
		}
	}
	raw, err := statstest.Direct(s, acct.ID, statstest.Request{Report: "campaign", Campaign: c.ID, From: "2026-03-01",
		To: "2026-03-31"})
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string][2]int64{}
	for _, o := range rep.Optins {
		got[o.ID] = [2]int64{o.Conversions, o.Confirmed}
	}
	// Confirmed counts the double opt-ins' confirmations.
	want := map[string][2]int64{news.ID: {1, 0}, deals.ID: {2, 1}, radio.ID: {1, 0}}
	if rep.Participations != 2 || len(got) != 3 || got[news.ID] != want[news.ID] || got[deals.ID] != want[deals.ID] ||
		got[radio.ID] != want[radio.ID] {
		t.Errorf("campaign report: got %d participations, opt-ins (conversions, confirmed) %v; want 2, %v",
			rep.Participations, got, want)
	}

	// The proof shows each form as it was, in order.
	proof, err := s.Proof(ctx, acct.ID, "ptc_1")
	if err != nil {
		t.Fatal(err)
	}
	if len(proof.Participations) != 2 {
		t.Fatalf("proof: got %d participations, want 2", len(proof.Participations))
	}
	form := proof.Participations[0].Form
	if len(form) != 3 || form[0].OptinID != news.ID || form[1].OptinID != deals.ID || form[2].OptinID != radio.ID ||
		form[0].Response == nil || *form[0].Response || form[1].Response == nil || !*form[1].Response ||
		form[2].Response != nil || form[2].Position != 2 || form[1].OptinVersion != 1 {
		raw, _ := json.Marshal(form)
		t.Errorf("proof of par_1: form %s, want news refused, deals accepted, radio blank, at version 1", raw)
	}

	if len(proof.Events) != 1 || proof.Events[0].ConsentEvent != event || proof.Events[0].Shown.Text != "Deals text" {
		raw, _ := json.Marshal(proof.Events)
		t.Errorf("proof: events %s, want evt_1 as stored (%+v), with its text", raw, event)
	}
	// The event, now a record of one, still holds its place in the chain.
	if check, err := s.VerifyLedger(ctx, acct.ID); err != nil || !check.OK || check.Events != 1 {
		t.Errorf("ledger verify: got %+v (%v), want 1 event OK", check, err)
	}
	p, err := s.Participant(ctx, acct.ID, "ptc_1")
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := json.Marshal(p.Consents); len(p.Consents) != 1 || p.Consents[0].OptinID != deals.ID ||
		p.Consents[0].State != assent.StateGiven {
		t.Errorf("consents: got %s, want deals given", raw)
	}

	// The next participation takes the next number.
	r, _, err := s.Participate(ctx, acct.ID, c.ID, assent.Submission{Email: "bob@example.com",
		Answers: map[string]*bool{news.ID: ptr(true), deals.ID: ptr(false)}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := store.ScalarForTest(s, `SELECT seq FROM participations WHERE id = $1`, r.ID); err != nil || got != "3" {
		t.Errorf("the next participation's number: got %q (%v), want 3", got, err)
	}
}

// TestMigrateChecksForeignKeys: SQLite runs the steps with foreign keys
// off, so that a table others refer to can be rebuilt; a step that left a
// row referring to nothing must not commit.
func TestMigrateChecksForeignKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := store.Open(ctx, "sqlite:"+t.TempDir()+"/fk.db") // whatever engine the other tests use
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := store.MigrateToForTest(s, 10); err != nil {
		t.Fatal(err)
	}
	// A confirmation of a participation that does not exist, as only a
	// broken step could leave it.
	for _, q := range []string{`PRAGMA foreign_keys = OFF`,
		`INSERT INTO confirmations (id, account_id, participant_id, participation_id, token_hash, optin_ids, created_at,
			expires_at) VALUES ('cnf_1', 'acc_1', 'ptc_1', 'par_missing', 'h', 'opt_1', 1, 2)`,
		`PRAGMA foreign_keys = ON`} {
		if err := store.ExecForTest(s, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	err = s.Migrate(ctx)
	if err == nil || !strings.Contains(err.Error(), "confirmations") {
		t.Fatalf("got %v, want the migration refused, naming confirmations", err)
	}
	if v, err := store.ScalarForTest(s, `SELECT MAX(version) FROM schema_migrations`); err != nil || v != "10" {
		t.Errorf("schema version after the refused migration: got %q (%v), want 10", v, err)
	}
	// The connection has its foreign keys back on.
	if err := store.ExecForTest(s, `INSERT INTO confirmations (id, account_id, participant_id, participation_id,
		token_hash, optin_ids, created_at, expires_at) VALUES ('cnf_2', 'acc_1', 'ptc_1', 'par_missing', 'h', 'opt_1', 1, 2)`); err == nil {
		t.Error("a confirmation of a missing participation was written after the migration")
	}
}

// TestOutboxIndexedByConfirmation: the outbox keeps every email once sent,
// so a participant's page and an erasure, which look up the emails of the
// participant's confirmations, need an index that starts with the
// confirmation (migration 14); without it each of them reads the whole
// outbox (2 s per page view with two million emails).
func TestOutboxIndexedByConfirmation(t *testing.T) {
	t.Parallel()
	dsn := storetest.DSN(t)
	s := storetest.Open(t, dsn)
	// The first column of every index of mail_outbox.
	q := `SELECT ii.name FROM pragma_index_list('mail_outbox') il, pragma_index_info(il.name) ii WHERE ii.seqno = 0`
	if s.Engine() == store.Postgres {
		q = `SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
			JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
			WHERE c.relname = 'mail_outbox' AND c.relnamespace = current_schema()::regnamespace`
	}
	rows, err := storetest.RawDB(t, dsn).Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var leading []string
	for rows.Next() {
		var col string
		if err := rows.Scan(&col); err != nil {
			t.Fatal(err)
		}
		leading = append(leading, col)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(leading, "confirmation_id") {
		t.Errorf("the indexes of mail_outbox start with %v: none with confirmation_id", leading)
	}
}
