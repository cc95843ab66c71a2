package assent

import "time"

// Participant is a person, identified within an account by a normalised
// email address. After erasure the personal fields are empty and Erased
// is set; the id and the consent history stay, anonymous.
type Participant struct {
	ID        string     `json:"id"`
	AccountID string     `json:"-"`
	Email     string     `json:"email"`
	FirstName string     `json:"first_name"`
	LastName  string     `json:"last_name"`
	CreatedAt time.Time  `json:"created_at"`
	ErasedAt  *time.Time `json:"erased_at"`
	Consents  []Consent  `json:"consents"`
}

// Consent is the current state of a participant's consent to one opt-in.
type Consent struct {
	OptinID   string       `json:"optin_id"`
	OptinName string       `json:"optin_name"`
	State     ConsentState `json:"state"`
	// Since is the time of the event that brought the current state.
	Since time.Time `json:"since"`
}

// Proof is everything that shows what a participant agreed to (SPEC §4.5).
type Proof struct {
	Participant    Participant     `json:"participant"`
	Events         []ProofEvent    `json:"events"`
	Confirmations  []Confirmation  `json:"confirmations"`
	Participations []Participation `json:"participations"`
}

// ProofEvent is a consent event with the exact opt-in text that was shown.
type ProofEvent struct {
	ConsentEvent
	OptinName    string       `json:"optin_name"`
	CampaignName string       `json:"campaign_name,omitempty"`
	Shown        OptinVersion `json:"shown"`
}

// Confirmation is a double opt-in request: sent by email after a
// participation, confirmed or expired later.
type Confirmation struct {
	ID              string     `json:"id"`
	ParticipationID string     `json:"participation_id"`
	OptinIDs        []string   `json:"optin_ids"`
	CreatedAt       time.Time  `json:"created_at"`
	ExpiresAt       time.Time  `json:"expires_at"`
	SentAt          *time.Time `json:"sent_at"`
	ConfirmedAt     *time.Time `json:"confirmed_at"`
	ExpiredAt       *time.Time `json:"expired_at"`
}
