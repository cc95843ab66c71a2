package assent

import (
	"regexp"
	"time"
)

// MaxCustomSubcategories is how many custom subcategories an account may
// have; the built-in ones do not count.
const MaxCustomSubcategories = 100

// Subcategory is a purpose under one category. Every account has one
// built-in subcategory per category, named and valued after it.
type Subcategory struct {
	ID        string    `json:"id"`
	AccountID string    `json:"-"`
	Name      string    `json:"name"`
	Value     string    `json:"value"`
	Category  string    `json:"category"`
	Builtin   bool      `json:"builtin"`
	CreatedAt time.Time `json:"created_at"`
}

var subcategoryValue = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// Validate checks the fields of a subcategory to be created or changed.
func (s *Subcategory) Validate() error {
	p := Problems{}
	checkLength(p, "name", s.Name, 1, 100)
	if s.Value == "" {
		p.Add("value", "is required")
	} else if !subcategoryValue.MatchString(s.Value) {
		p.Add("value", "must be 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter or digit")
	}
	if s.Category == "" {
		p.Add("category", "is required")
	} else if CategoryIndex(s.Category) < 0 {
		p.Add("category", "must be one of newsletter_marketing, legal, partners, others")
	}
	return p.Err()
}

// BuiltinSubcategories returns the four built-in subcategories of a new
// account, without ids.
func BuiltinSubcategories() []Subcategory {
	out := make([]Subcategory, len(Categories))
	for i, c := range Categories {
		out[i] = Subcategory{Name: c.Name, Value: c.Key, Category: c.Key, Builtin: true}
	}
	return out
}
