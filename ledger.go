package assent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// ConsentEvent is one change of one participant's consent to one opt-in:
// the ledger's unit, append-only. Within an account, events form a hash
// chain: Hash covers PrevHash and every field, so that an edit or a
// deletion of any event shows.
type ConsentEvent struct {
	ID              string    `json:"id"`
	AccountID       string    `json:"-"`
	Seq             int64     `json:"seq"`
	ParticipantID   string    `json:"participant_id"`
	OptinID         string    `json:"optin_id"`
	OptinVersion    int       `json:"optin_version"`
	Type            EventType `json:"type"`
	ParticipationID string    `json:"participation_id,omitempty"`
	CampaignID      string    `json:"campaign_id,omitempty"`
	ConfirmationID  string    `json:"confirmation_id,omitempty"`
	Source          string    `json:"source"`
	IPHash          string    `json:"ip_hash,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	PrevHash        string    `json:"prev_hash"`
	Hash            string    `json:"hash"`
}

// GenesisHash is the PrevHash of an account's first event.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// ComputeHash returns the SHA-256 (hex) of PrevHash and the event's fields
// in a fixed order. Personal data is never part of it, so that erasing a
// participant leaves the chain intact.
func (e *ConsentEvent) ComputeHash() string {
	fields := []any{e.ID, e.AccountID, e.Seq, e.ParticipantID, e.OptinID, e.OptinVersion, string(e.Type),
		e.ParticipationID, e.CampaignID, e.ConfirmationID, e.Source, e.IPHash, e.CreatedAt.UnixMicro()}
	b, _ := json.Marshal(fields)
	h := sha256.New()
	h.Write([]byte(e.PrevHash))
	h.Write([]byte{'\n'})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// Event sources beyond those of participations.
const (
	SourceConfirmation = "confirmation" // the participant confirmed by email
	SourcePreferences  = "preferences"  // the participant's preferences page
	SourceExpiry       = "expiry"       // a confirmation ran out of time
	SourceAdmin        = "admin"        // a user of the admin pages, for the participant
)

// LedgerCheck is the result of verifying an account's chain of events.
type LedgerCheck struct {
	Events int64 `json:"events"` // how many events were checked
	OK     bool  `json:"ok"`
	// Broken is the first link that does not hold, when OK is false.
	Broken *LedgerBreak `json:"broken,omitempty"`
}

// LedgerBreak names the first broken link of a chain.
type LedgerBreak struct {
	Seq     int64  `json:"seq"`
	EventID string `json:"event_id"`
	Problem string `json:"problem"`
}
