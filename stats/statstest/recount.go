// Package statstest holds every statistics report of Assent to a plain
// recount. It builds accounts with known participations through the real
// store (fixture.go), reads the stored rows back with database/sql alone,
// and recomputes each report from the definitions of SPEC §5.1 in a few
// loops over those rows (this file and report.go), without the stats
// package: whatever the engine gets wrong, the recount does not share.
package statstest

import (
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/assentdev/assent"
)

// Data is one account's stored rows, as read from the database.
type Data struct {
	AccountID string
	TimeZone  string
	Loc       *time.Location
	// Participations are in id order, which is the order they were written.
	Participations []*Participation
	Optins         map[string]*Optin
	// Subcategories are in the order reports list them: the built-in ones
	// in category order, then the custom ones by creation.
	Subcategories []*Subcategory
	Campaigns     map[string]*Campaign
	Participants  map[string]*Participant
	// Events are the consent ledger, in sequence order.
	Events []*Event
	// ConfirmationOf maps a participation id to its confirmation's id.
	ConfirmationOf map[string]string
}

// Participation is one stored participation with its answers.
type Participation struct {
	ID, Campaign, Participant string
	At                        time.Time
	Day                       string // YYYY-MM-DD in the account's time zone
	// First says that this is the participant's earliest participation in
	// the account (SPEC §5.1 "new"), from the times alone.
	First bool
	// NewColumn is the stored new_participant flag.
	NewColumn                                              bool
	IPHash, UserAgent, Source                              string
	UTMSource, UTMMedium, UTMCampaign, UTMTerm, UTMContent string
	Answers                                                []Answer // in form order
}

// Answer is one answer row of a participation.
type Answer struct {
	Optin     string
	Response  *bool // nil: an optional radio left blank
	Confirmed bool
}

// parseStoredAnswers reads the answers column of a participation, written
// as store/answers.go describes: "<response><confirmed><version>:<opt-in
// id>" per opt-in, in form order, separated by commas.
func parseStoredAnswers(list string) ([]Answer, error) {
	var out []Answer
	for _, item := range strings.Split(list, ",") {
		if item == "" {
			continue
		}
		head, optin, ok := strings.Cut(item, ":")
		if !ok || len(head) < 3 {
			return nil, fmt.Errorf("malformed answer %q", item)
		}
		a := Answer{Optin: optin, Confirmed: head[1] == '1'}
		switch head[0] {
		case '1', '0':
			yes := head[0] == '1'
			a.Response = &yes
		case '-':
		default:
			return nil, fmt.Errorf("malformed answer %q", item)
		}
		out = append(out, a)
	}
	return out, nil
}

func (a Answer) accepted() bool { return a.Response != nil && *a.Response }

// Optin is an opt-in with its current categorisation.
type Optin struct {
	ID, Name, Language string
	Double             bool
	Subcategories      map[string]bool // values
	Categories         map[string]bool // keys, parents of Subcategories
}

// Subcategory is a subcategory as stored now.
type Subcategory struct {
	ID, Value, Name, Category string
	Builtin                   bool
}

// Campaign is a campaign with its current form.
type Campaign struct {
	ID, Name, Language string
	Form               []string
}

// Participant is a participant's identity, empty once erased.
type Participant struct {
	ID, Email, FirstName, LastName string
	Erased                         bool
}

// Event is one consent event.
type Event struct {
	Seq                                                   int64
	Participant, Optin, Type, Participation, Confirmation string
	At                                                    time.Time
}

// Load reads an account's rows from db.
func Load(t testing.TB, db *sql.DB, accountID string) *Data {
	t.Helper()
	d := &Data{AccountID: accountID, Optins: map[string]*Optin{}, Campaigns: map[string]*Campaign{},
		Participants: map[string]*Participant{}, ConfirmationOf: map[string]string{}}
	scan := func(query string, each func(*sql.Rows) error) {
		t.Helper()
		rows, err := db.Query(query, accountID)
		if err != nil {
			t.Fatalf("statstest: %s: %v", query, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := each(rows); err != nil {
				t.Fatalf("statstest: scan %s: %v", query, err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("statstest: %s: %v", query, err)
		}
	}
	scan(`SELECT time_zone FROM accounts WHERE id = $1`, func(r *sql.Rows) error { return r.Scan(&d.TimeZone) })
	loc, err := time.LoadLocation(d.TimeZone)
	if err != nil {
		t.Fatalf("statstest: zone %q: %v", d.TimeZone, err)
	}
	d.Loc = loc

	byID := map[string]*Participation{}
	scan(`SELECT id, campaign_id, participant_id, created_at, new_participant, ip_hash, COALESCE(user_agent, ''), source,
		utm_source, utm_medium, utm_campaign, utm_term, utm_content, answers
		FROM participations WHERE account_id = $1 ORDER BY id`, func(r *sql.Rows) error {
		p := &Participation{}
		var at int64
		var answers string
		if err := r.Scan(&p.ID, &p.Campaign, &p.Participant, &at, &p.NewColumn, &p.IPHash, &p.UserAgent, &p.Source,
			&p.UTMSource, &p.UTMMedium, &p.UTMCampaign, &p.UTMTerm, &p.UTMContent, &answers); err != nil {
			return err
		}
		var err error
		if p.Answers, err = parseStoredAnswers(answers); err != nil {
			return fmt.Errorf("participation %s: %w", p.ID, err)
		}
		p.At = time.UnixMicro(at).UTC()
		p.Day = p.At.In(loc).Format(time.DateOnly)
		d.Participations = append(d.Participations, p)
		byID[p.ID] = p
		return nil
	})
	// SPEC §5.1: a participant is new in the participation that is their
	// first in the whole account.
	first := map[string]*Participation{}
	for _, p := range d.Participations {
		f := first[p.Participant]
		if f == nil || p.At.Before(f.At) || (p.At.Equal(f.At) && p.ID < f.ID) {
			first[p.Participant] = p
		}
	}
	for _, p := range first {
		p.First = true
	}

	scan(`SELECT id, name, language, double_optin FROM optins WHERE account_id = $1`, func(r *sql.Rows) error {
		o := &Optin{Subcategories: map[string]bool{}, Categories: map[string]bool{}}
		if err := r.Scan(&o.ID, &o.Name, &o.Language, &o.Double); err != nil {
			return err
		}
		d.Optins[o.ID] = o
		return nil
	})
	scan(`SELECT id, value, name, category, builtin FROM subcategories WHERE account_id = $1 ORDER BY id`,
		func(r *sql.Rows) error {
			sc := &Subcategory{}
			if err := r.Scan(&sc.ID, &sc.Value, &sc.Name, &sc.Category, &sc.Builtin); err != nil {
				return err
			}
			d.Subcategories = append(d.Subcategories, sc)
			return nil
		})
	sort.SliceStable(d.Subcategories, func(i, j int) bool {
		a, b := d.Subcategories[i], d.Subcategories[j]
		if a.Builtin != b.Builtin {
			return a.Builtin
		}
		if a.Builtin {
			return assent.CategoryIndex(a.Category) < assent.CategoryIndex(b.Category)
		}
		return false // custom ones keep their id order: creation order
	})
	scan(`SELECT os.optin_id, s.value, s.category FROM optin_subcategories os
		JOIN subcategories s ON s.id = os.subcategory_id WHERE s.account_id = $1`, func(r *sql.Rows) error {
		var id, value, category string
		if err := r.Scan(&id, &value, &category); err != nil {
			return err
		}
		d.Optins[id].Subcategories[value] = true
		d.Optins[id].Categories[category] = true
		return nil
	})

	scan(`SELECT id, name, language FROM campaigns WHERE account_id = $1`, func(r *sql.Rows) error {
		c := &Campaign{}
		if err := r.Scan(&c.ID, &c.Name, &c.Language); err != nil {
			return err
		}
		d.Campaigns[c.ID] = c
		return nil
	})
	scan(`SELECT co.campaign_id, co.optin_id FROM campaign_optins co JOIN campaigns c ON c.id = co.campaign_id
		WHERE c.account_id = $1 ORDER BY co.campaign_id, co.position`, func(r *sql.Rows) error {
		var cid, oid string
		if err := r.Scan(&cid, &oid); err != nil {
			return err
		}
		d.Campaigns[cid].Form = append(d.Campaigns[cid].Form, oid)
		return nil
	})

	scan(`SELECT id, email, first_name, last_name, erased_at FROM participants WHERE account_id = $1`,
		func(r *sql.Rows) error {
			p := &Participant{}
			var email, firstName, lastName sql.NullString
			var erased sql.NullInt64
			if err := r.Scan(&p.ID, &email, &firstName, &lastName, &erased); err != nil {
				return err
			}
			p.Email, p.FirstName, p.LastName, p.Erased = email.String, firstName.String, lastName.String, erased.Valid
			d.Participants[p.ID] = p
			return nil
		})
	// The ledger's records, read with this package's own parser of their
	// events (store/records.go documents the format): type, version,
	// opt-in, id and hash, separated by spaces; items by commas.
	scan(`SELECT seq, participant_id, COALESCE(participation_id, ''), COALESCE(confirmation_id, ''), created_at, events
		FROM ledger_records WHERE account_id = $1 ORDER BY seq`, func(r *sql.Rows) error {
		var first Event
		var at int64
		var list string
		if err := r.Scan(&first.Seq, &first.Participant, &first.Participation, &first.Confirmation, &at, &list); err != nil {
			return err
		}
		first.At = time.UnixMicro(at).UTC()
		for i, item := range strings.Split(list, ",") {
			f := strings.Split(item, " ")
			if len(f) != 5 {
				return fmt.Errorf("record %d: malformed event %q", first.Seq, item)
			}
			e := first
			e.Seq, e.Type, e.Optin = first.Seq+int64(i), f[0], f[2]
			d.Events = append(d.Events, &e)
		}
		return nil
	})
	scan(`SELECT id, participation_id FROM confirmations WHERE account_id = $1`, func(r *sql.Rows) error {
		var id, pid string
		if err := r.Scan(&id, &pid); err != nil {
			return err
		}
		d.ConfirmationOf[pid] = id
		return nil
	})
	return d
}

// newest is the time of the newest of ps, nil when there is none.
func newest(ps []*Participation) *time.Time {
	var out *time.Time
	for _, p := range ps {
		if out == nil || p.At.After(*out) {
			at := p.At
			out = &at
		}
	}
	return out
}

// CheckStored checks what the stored rows must say about themselves, from
// the ledger alone: the stored new_participant flag is SPEC's "first
// participation in the account", and an answer is stored as confirmed
// exactly when it was accepted and is in force, that is, its event was
// given at once, or a confirmed event followed from this participation's
// own confirmation email.
func (d *Data) CheckStored(t testing.TB) {
	t.Helper()
	type key struct{ participation, optin string }
	answerEvent := map[key]string{}
	confirmedBy := map[key]bool{} // (confirmation, opt-in) confirmed
	for _, e := range d.Events {
		switch {
		case e.Participation != "":
			answerEvent[key{e.Participation, e.Optin}] = e.Type
		case e.Type == string(assent.EventConfirmed):
			confirmedBy[key{e.Confirmation, e.Optin}] = true
		}
	}
	for _, p := range d.Participations {
		if p.NewColumn != p.First {
			t.Errorf("participation %s at %s: got new_participant %v, want %v (first of its participant)", p.ID, p.At,
				p.NewColumn, p.First)
		}
		for _, a := range p.Answers {
			ev := answerEvent[key{p.ID, a.Optin}]
			want := a.accepted() && (ev == string(assent.EventGiven) ||
				(ev == string(assent.EventPending) && confirmedBy[key{d.ConfirmationOf[p.ID], a.Optin}]))
			if a.Confirmed != want {
				t.Errorf("participation %s, opt-in %s (event %q): got confirmed %v, want %v", p.ID, a.Optin, ev,
					a.Confirmed, want)
			}
		}
	}
}

// States replays the ledger (SPEC §4.2) into each participant's current
// state per opt-in, with the time of the event that brought it.
func (d *Data) States() map[[2]string]State {
	out := map[[2]string]State{}
	for _, e := range d.Events {
		k := [2]string{e.Participant, e.Optin}
		cur := out[k].State
		next := cur
		switch assent.EventType(e.Type) {
		case assent.EventGiven:
			next = "given"
		case assent.EventPending:
			if cur != "given" { // accepting again a given consent keeps it given
				next = "pending"
			}
		case assent.EventRefused:
			if cur == "" { // a refusal never undoes an existing state
				next = "refused"
			}
		case assent.EventConfirmed:
			if cur == "pending" {
				next = "given"
			}
		case assent.EventExpired:
			if cur == "pending" {
				next = "expired"
			}
		case assent.EventWithdrawn:
			if cur == "given" || cur == "pending" {
				next = "withdrawn"
			}
		}
		if next != cur {
			out[k] = State{State: next, Since: e.At}
		}
	}
	return out
}

// State is a participant's current state for one opt-in.
type State struct {
	State string
	Since time.Time
}

// AudienceMember is one line of an opt-in's audience (SPEC §9).
type AudienceMember struct {
	ParticipantID string    `json:"participant_id"`
	Email         string    `json:"email"`
	FirstName     string    `json:"first_name"`
	LastName      string    `json:"last_name"`
	State         string    `json:"state"`
	AddedAt       time.Time `json:"added_at"`
}

// Audience lists the participants whose current state for the opt-in is
// state, newest first; erased participants are no longer listed.
func (d *Data) Audience(optinID, state string) []AudienceMember {
	out := []AudienceMember{}
	for k, s := range d.States() {
		p := d.Participants[k[0]]
		if k[1] != optinID || s.State != state || p.Erased {
			continue
		}
		out = append(out, AudienceMember{ParticipantID: p.ID, Email: p.Email, FirstName: p.FirstName,
			LastName: p.LastName, State: s.State, AddedAt: s.Since})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].AddedAt.Equal(out[j].AddedAt) {
			return out[i].AddedAt.After(out[j].AddedAt)
		}
		return out[i].ParticipantID > out[j].ParticipantID
	})
	return out
}

// ParticipationRow is one line of a campaign's participations list.
type ParticipationRow struct {
	ID             string           `json:"id"`
	CampaignID     string           `json:"campaign_id"`
	ParticipantID  string           `json:"participant_id"`
	NewParticipant bool             `json:"new_participant"`
	CreatedAt      time.Time        `json:"created_at"`
	IPHash         string           `json:"ip_hash"`
	UserAgent      string           `json:"user_agent"`
	UTM            assent.UTM       `json:"utm"`
	Source         string           `json:"source"`
	Email          string           `json:"email"`
	FirstName      string           `json:"first_name"`
	LastName       string           `json:"last_name"`
	Answers        map[string]*bool `json:"answers"`
}

// CampaignParticipations lists a campaign's participations, newest first,
// with the participant's current identity.
func (d *Data) CampaignParticipations(campaignID string) []ParticipationRow {
	out := []ParticipationRow{}
	for i := len(d.Participations) - 1; i >= 0; i-- {
		p := d.Participations[i]
		if p.Campaign != campaignID {
			continue
		}
		who := d.Participants[p.Participant]
		r := ParticipationRow{ID: p.ID, CampaignID: p.Campaign, ParticipantID: p.Participant, NewParticipant: p.First,
			CreatedAt: p.At, IPHash: p.IPHash, UserAgent: p.UserAgent, Source: p.Source, Email: who.Email,
			FirstName: who.FirstName, LastName: who.LastName, Answers: map[string]*bool{},
			UTM: assent.UTM{Source: p.UTMSource, Medium: p.UTMMedium, Campaign: p.UTMCampaign, Term: p.UTMTerm,
				Content: p.UTMContent}}
		for _, a := range p.Answers {
			r.Answers[a.Optin] = a.Response
		}
		out = append(out, r)
	}
	return out
}
