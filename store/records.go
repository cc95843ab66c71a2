package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/assentdev/assent"
)

// The ledger is stored as records (table ledger_records): a record holds
// consecutive events of one account's chain that share everything but
// their opt-in: the participant, the participation, campaign or
// confirmation, the source, the IP hash and the time. A participation of
// five opt-ins is one record of five events; a confirmation of two double
// opt-ins one record of two. The record is keyed by its account and the
// number (seq) of its first event; its events follow each other, one
// number each, and prev_hash is the hash of the event before the first.
//
// The column events lists its events in order, separated by commas; an
// item is the type, the opt-in's version, the opt-in's id, the event's id
// and its hash, separated by spaces: "given 2 opt_a evt_b 9f…". Ids are
// NewID's and types words: none holds a space or a comma. Each event keeps
// its own id and hash, so that the chain, the API and the proof are the
// same as if each event were a row.
//
// One row instead of a row per event: each participation inserts one row
// and one entry of the participant index instead of five of each.

// recordColumns are the columns scanRecord reads, in its order.
const recordColumns = `seq, participant_id, participation_id, campaign_id, confirmation_id, source, ip_hash,
	created_at, prev_hash, events`

// sameRecord reports whether event b, which follows event a in a list that
// appendAll chains, may share a's record: of the same account (so that
// their numbers follow each other) and alike in every shared field.
func sameRecord(a, b *assent.ConsentEvent) bool {
	return a.AccountID == b.AccountID && a.ParticipantID == b.ParticipantID &&
		a.ParticipationID == b.ParticipationID && a.CampaignID == b.CampaignID &&
		a.ConfirmationID == b.ConfirmationID && a.Source == b.Source && a.IPHash == b.IPHash &&
		micros(a.CreatedAt) == micros(b.CreatedAt)
}

// appendRecordItem appends the item of one event to a record's events.
func appendRecordItem(list []byte, e *assent.ConsentEvent) []byte {
	if len(list) > 0 {
		list = append(list, ',')
	}
	list = append(list, e.Type...)
	list = append(list, ' ')
	list = strconv.AppendInt(list, int64(e.OptinVersion), 10)
	list = append(list, ' ')
	list = append(list, e.OptinID...)
	list = append(list, ' ')
	list = append(list, e.ID...)
	list = append(list, ' ')
	return append(list, e.Hash...)
}

// recordRow is the row of ledger_records that holds events, which
// sameRecord puts together: the first one's shared fields and every
// one's item.
func recordRow(events []*assent.ConsentEvent) []any {
	var list []byte
	for _, e := range events {
		list = appendRecordItem(list, e)
	}
	e := events[0]
	return []any{e.AccountID, e.Seq, e.ParticipantID, nullString(e.ParticipationID), nullString(e.CampaignID),
		nullString(e.ConfirmationID), e.Source, e.IPHash, micros(e.CreatedAt), e.PrevHash, string(list)}
}

// insertRecords is the statement recordRow's rows go to.
const insertRecords = `INSERT INTO ledger_records (account_id, seq, participant_id, participation_id, campaign_id,
	confirmation_id, source, ip_hash, created_at, prev_hash, events)`

// errMalformedRecord is a ledger record whose events do not parse.
var errMalformedRecord = errors.New("ledger record")

// scanRecord reads one row of recordColumns and appends its events, of
// accountID, to dst. A record whose events do not parse is an error that
// names it: the ledger was changed by hand.
func scanRecord(rows *sql.Rows, accountID string, dst []assent.ConsentEvent) ([]assent.ConsentEvent, error) {
	var e assent.ConsentEvent
	var participation, campaign, confirmation sql.NullString
	var created int64
	var list string
	if err := rows.Scan(&e.Seq, &e.ParticipantID, &participation, &campaign, &confirmation, &e.Source, &e.IPHash,
		&created, &e.PrevHash, &list); err != nil {
		return dst, err
	}
	e.AccountID, e.ParticipationID, e.CampaignID, e.ConfirmationID = accountID, participation.String, campaign.String,
		confirmation.String
	e.CreatedAt = fromMicros(created)
	return expandRecord(dst, e, list)
}

// expandRecord appends to dst the events of a record whose shared fields,
// first number and prev_hash are in first, and whose items are list.
func expandRecord(dst []assent.ConsentEvent, first assent.ConsentEvent, list string) ([]assent.ConsentEvent, error) {
	e := first
	if list == "" {
		return dst, fmt.Errorf("%w %d holds no event", errMalformedRecord, first.Seq)
	}
	for list != "" {
		item, rest, _ := strings.Cut(list, ",")
		list = rest
		f := strings.Fields(item)
		if len(f) != 5 {
			return dst, fmt.Errorf("%w %d holds a malformed event %q", errMalformedRecord, first.Seq, item)
		}
		v, err := strconv.Atoi(f[1])
		if err != nil {
			return dst, fmt.Errorf("%w %d holds a malformed event %q", errMalformedRecord, first.Seq, item)
		}
		e.Type, e.OptinVersion, e.OptinID, e.ID, e.Hash = assent.EventType(f[0]), v, f[2], f[3], f[4]
		dst = append(dst, e)
		e.Seq, e.PrevHash = e.Seq+1, e.Hash
	}
	return dst, nil
}

// participantEvents returns the events of a participant of accountID (the
// caller has checked that it is), in the chain's order: the records of
// their participations, found through these (migration 13), and the
// records of no participation, by the participant. The query has no
// condition on the account: participant ids are unique across accounts,
// and with one SQLite would walk the account's whole ledger in order
// rather than sort a few records.
func participantEvents(ctx context.Context, q querier, accountID, participantID string) ([]assent.ConsentEvent, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+recordColumns+` FROM ledger_records
		WHERE participation_id IN (SELECT id FROM participations WHERE participant_id = $1)
		UNION ALL
		SELECT `+recordColumns+` FROM ledger_records WHERE participant_id = $1 AND participation_id IS NULL
		ORDER BY seq`, participantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []assent.ConsentEvent
	for rows.Next() {
		if out, err = scanRecord(rows, accountID, out); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

// latestVersions returns, for each opt-in a participant has an event of,
// the version of the latest one: the text their consent stands on. The
// caller has checked that the participant is of accountID.
func latestVersions(ctx context.Context, q querier, accountID, participantID string) (map[string]int, error) {
	events, err := participantEvents(ctx, q, accountID, participantID)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, e := range events {
		out[e.OptinID] = e.OptinVersion
	}
	return out, nil
}
