package assent

import "time"

// Receipt is the answer to a recorded participation.
type Receipt struct {
	ID             string          `json:"id"`
	ParticipantID  string          `json:"participant_id"`
	NewParticipant bool            `json:"new_participant"`
	CreatedAt      time.Time       `json:"created_at"`
	Optins         []ReceiptAnswer `json:"optins"`
}

// ReceiptAnswer is one opt-in of a Receipt: the answer and the state it
// left the participant's consent in ("" when never answered).
type ReceiptAnswer struct {
	ID       string       `json:"id"`
	Response *bool        `json:"response"`
	State    ConsentState `json:"state"`
}
