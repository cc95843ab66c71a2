package assent

import (
	"fmt"
	"strings"
	"time"
)

// UTM holds the campaign-tracking parameters of a participation.
type UTM struct {
	Source   string `json:"source"`
	Medium   string `json:"medium"`
	Campaign string `json:"campaign"`
	Term     string `json:"term"`
	Content  string `json:"content"`
}

// Sources of a participation.
const (
	SourceAPI    = "api"    // the customer's front end, with an API key
	SourceForm   = "form"   // the public form page
	SourceImport = "import" // a bulk import of past participations
)

// Submission is a participation as submitted, before validation: the same
// for the API and the public form.
type Submission struct {
	Email     string
	FirstName string
	LastName  string
	// Answers maps an opt-in id to true (accepted), false (refused) or nil
	// (an optional radio left blank).
	Answers        map[string]*bool
	UTM            UTM
	IP             string // in clear here; only a keyed hash is stored
	UserAgent      string
	Source         string
	IdempotencyKey string
}

// MaxUserAgent is the longest user agent kept; longer ones are cut.
const MaxUserAgent = 512

// Normalize trims the identity fields, normalises the email address and
// cuts the user agent to MaxUserAgent bytes.
func (s *Submission) Normalize() {
	s.Email = NormalizeEmail(s.Email)
	s.FirstName = strings.TrimSpace(s.FirstName)
	s.LastName = strings.TrimSpace(s.LastName)
	if len(s.UserAgent) > MaxUserAgent {
		s.UserAgent = strings.ToValidUTF8(s.UserAgent[:MaxUserAgent], "")
	}
}

// ValidateSubmission checks a normalised submission against the campaign
// and the opt-ins of its form, in form order (SPEC §4.1). Every problem is
// reported under its field: email, first_name, last_name, campaign, utm.*,
// and answers.<opt-in id>.
func ValidateSubmission(c *Campaign, form []Optin, sub *Submission, now time.Time) error {
	p := Problems{}
	if !c.Live(now) {
		p.Add("campaign", "%s", notLiveReason(c, now))
	}
	switch {
	case sub.Email == "":
		p.Add("email", "is required")
	case !ValidEmail(sub.Email):
		p.Add("email", "must be a valid email address")
	}
	checkIdentity(p, "first_name", sub.FirstName, c.Fields.FirstName)
	checkIdentity(p, "last_name", sub.LastName, c.Fields.LastName)
	for field, v := range map[string]string{"utm.source": sub.UTM.Source, "utm.medium": sub.UTM.Medium,
		"utm.campaign": sub.UTM.Campaign, "utm.term": sub.UTM.Term, "utm.content": sub.UTM.Content} {
		checkLength(p, field, v, 0, 200)
	}
	onForm := map[string]bool{}
	for _, o := range form {
		onForm[o.ID] = true
		field := "answers." + o.ID
		answer, answered := sub.Answers[o.ID]
		switch {
		case o.Display == DisplayCheckbox && (!answered || answer == nil):
			p.Add(field, "needs an answer, true or false: %q is a checkbox on this form", o.Name)
		case o.Mandatory && (answer == nil || !*answer):
			p.Add(field, "must be accepted: %q is mandatory", o.Name)
		}
	}
	for id := range sub.Answers {
		if !onForm[id] {
			p.Add("answers."+id, "is not an opt-in of this campaign's form")
		}
	}
	return p.Err()
}

func checkIdentity(p Problems, field, value, mode string) {
	switch {
	case mode == FieldRequired && value == "":
		p.Add(field, "is required")
	case mode == FieldHidden && value != "":
		p.Add(field, "is not asked for by this campaign's form")
	default:
		checkLength(p, field, value, 0, 100)
	}
}

func notLiveReason(c *Campaign, now time.Time) string {
	switch {
	case c.Status != StatusActive:
		return "the campaign is archived and takes no participations"
	case c.StartsAt != nil && now.Before(*c.StartsAt):
		return fmt.Sprintf("the campaign starts at %s", c.StartsAt.Format(time.RFC3339))
	default:
		return fmt.Sprintf("the campaign ended at %s", c.EndsAt.Format(time.RFC3339))
	}
}

// AnswerEvent returns the consent event that a participation's answer to
// opt-in o records, given the participant's current state for it: a double
// opt-in that is accepted waits for confirmation unless it is given already.
func AnswerEvent(o *Optin, answer *bool, current ConsentState) EventType {
	switch {
	case answer == nil:
		return EventUnanswered
	case !*answer:
		return EventRefused
	case o.DoubleOptin && current != StateGiven:
		return EventPending
	}
	return EventGiven
}

// Participation is one submitted form, as stored.
type Participation struct {
	ID             string    `json:"id"`
	AccountID      string    `json:"-"`
	CampaignID     string    `json:"campaign_id"`
	ParticipantID  string    `json:"participant_id"`
	NewParticipant bool      `json:"new_participant"`
	CreatedAt      time.Time `json:"created_at"`
	IPHash         string    `json:"ip_hash"`
	UserAgent      string    `json:"user_agent"`
	UTM            UTM       `json:"utm"`
	Source         string    `json:"source"`
	// Form is what the form showed, in order, and how it was answered; set
	// in proofs.
	Form []FormAnswer `json:"form,omitempty"`
}

// FormAnswer is one opt-in of a submitted form: the version shown, its
// place on the form, and the answer (nil for an optional radio left blank).
type FormAnswer struct {
	OptinID      string `json:"optin_id"`
	OptinVersion int    `json:"optin_version"`
	Position     int    `json:"position"`
	Response     *bool  `json:"response"`
}
