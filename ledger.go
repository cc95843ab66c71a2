package assent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
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

// ComputeHash returns the SHA-256 (hex) of PrevHash, a newline, and the
// JSON array (as encoding/json writes it) of the event's fields in a fixed
// order. Personal data is never part of it, so that erasing a participant
// leaves the chain intact.
func (e *ConsentEvent) ComputeHash() string {
	// The array is written here rather than by json.Marshal, byte for byte
	// the same (hashFields' test holds it to json.Marshal): reflection over
	// []any was a tenth of a bulk import's time.
	var buf [512]byte
	b := append(buf[:0], '[')
	b = appendHashString(b, e.ID)
	b = append(b, ',')
	b = appendHashString(b, e.AccountID)
	b = append(b, ',')
	b = strconv.AppendInt(b, e.Seq, 10)
	for _, s := range [...]string{e.ParticipantID, e.OptinID} {
		b = append(b, ',')
		b = appendHashString(b, s)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(e.OptinVersion), 10)
	for _, s := range [...]string{string(e.Type), e.ParticipationID, e.CampaignID, e.ConfirmationID, e.Source, e.IPHash} {
		b = append(b, ',')
		b = appendHashString(b, s)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, e.CreatedAt.UnixMicro(), 10)
	b = append(b, ']')
	h := sha256.New()
	h.Write([]byte(e.PrevHash))
	h.Write([]byte{'\n'})
	h.Write(b)
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// appendHashString appends s as encoding/json writes a string: verbatim
// between quotes when it is printable ASCII without a quote, a backslash
// or one of the characters json escapes for HTML; otherwise as json.Marshal
// writes it.
func appendHashString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
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
