package assent

import (
	"strings"
	"time"
)

// Campaign types.
var CampaignTypes = []string{"contest", "quiz", "survey", "poll", "signup", "other"}

// Field settings for the identity fields of a form.
const (
	FieldRequired = "required"
	FieldOptional = "optional"
	FieldHidden   = "hidden"
)

// FormFields says which identity fields a campaign's form asks for. The
// email address is always asked for and always required.
type FormFields struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// Campaign is a data-collection campaign with a form showing an ordered list
// of opt-ins.
type Campaign struct {
	ID        string     `json:"id"`
	AccountID string     `json:"-"`
	Name      string     `json:"name"`
	Language  string     `json:"language"`
	Type      string     `json:"type"`
	StartsAt  *time.Time `json:"starts_at"`
	EndsAt    *time.Time `json:"ends_at"`
	Fields    FormFields `json:"fields"`
	Optins    []string   `json:"optins"` // opt-in ids, in form order
	Status    string     `json:"status"`
	FormURL   string     `json:"form_url"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// Normalize trims the name and canonicalises the language tag.
func (c *Campaign) Normalize() {
	c.Name = strings.TrimSpace(c.Name)
	if tag, err := CanonicalLanguage(c.Language); err == nil {
		c.Language = tag
	}
}

// Validate checks the campaign's own fields; the store checks its opt-ins
// against the database (existence, status, language).
func (c *Campaign) Validate() error {
	p := Problems{}
	checkLength(p, "name", c.Name, 1, 200)
	if c.Language == "" {
		p.Add("language", "is required")
	} else if _, err := CanonicalLanguage(c.Language); err != nil {
		p.Add("language", "must be a BCP 47 language tag such as en, fr or nl-BE")
	}
	if !oneOf(c.Type, CampaignTypes) {
		p.Add("type", "must be one of %s", strings.Join(CampaignTypes, ", "))
	}
	if c.StartsAt != nil && c.EndsAt != nil && !c.EndsAt.After(*c.StartsAt) {
		p.Add("ends_at", "must be after starts_at")
	}
	fieldModes := []string{FieldRequired, FieldOptional, FieldHidden}
	if !oneOf(c.Fields.FirstName, fieldModes) {
		p.Add("fields.first_name", "must be required, optional or hidden")
	}
	if !oneOf(c.Fields.LastName, fieldModes) {
		p.Add("fields.last_name", "must be required, optional or hidden")
	}
	if len(c.Optins) > 50 {
		p.Add("optins", "a form shows at most 50 opt-ins")
	}
	seen := map[string]bool{}
	for _, id := range c.Optins {
		if seen[id] {
			p.Add("optins", "lists opt-in %s twice", id)
		}
		seen[id] = true
	}
	if c.Status != StatusActive && c.Status != StatusArchived {
		p.Add("status", "must be active or archived")
	}
	return p.Err()
}

// Live reports whether the campaign accepts participations at time now.
func (c *Campaign) Live(now time.Time) bool {
	if c.Status != StatusActive {
		return false
	}
	if c.StartsAt != nil && now.Before(*c.StartsAt) {
		return false
	}
	return c.EndsAt == nil || now.Before(*c.EndsAt)
}

func oneOf(s string, list []string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
