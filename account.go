package assent

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	_ "time/tzdata" // time zones must validate on machines without a zoneinfo database
)

// DefaultAccountName is the account created in an empty database.
const DefaultAccountName = "default"

// Account is a tenant: everything else belongs to exactly one account.
type Account struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	TimeZone  string    `json:"time_zone"`
	CreatedAt time.Time `json:"created_at"`
}

// ValidateAccount checks an account's name and time zone.
func ValidateAccount(name, timeZone string) error {
	p := Problems{}
	checkLength(p, "name", name, 1, 100)
	if _, err := time.LoadLocation(timeZone); err != nil || timeZone == "" || timeZone == "Local" {
		p.Add("time_zone", "must be an IANA time zone such as UTC or Europe/Brussels")
	}
	return p.Err()
}

// User is a person who signs in to the admin UI.
type User struct {
	ID        string    `json:"id"`
	AccountID string    `json:"-"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// MinPasswordLength is the shortest password a user may choose.
const MinPasswordLength = 10

// NormalizeEmail trims and lower-cases an address: the one identity rule.
func NormalizeEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// ValidEmail reports whether s (already normalised) is a plain address:
// local@domain with a dot in the domain, no display name, at most 254 bytes.
func ValidEmail(s string) bool {
	if len(s) > 254 || strings.ContainsAny(s, " <>\"") {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && strings.Contains(s[at+1:], ".") && !strings.HasSuffix(s, ".")
}

// ValidateUser checks a new user's fields; email must be normalised.
func ValidateUser(email, name string, role Role, password string) error {
	p := Problems{}
	if !ValidEmail(email) {
		p.Add("email", "must be a valid email address")
	}
	checkLength(p, "name", name, 0, 200)
	if !isUserRole(role) {
		p.Add("role", "must be one of admin, marketer, editor, observer")
	}
	if utf8.RuneCountInString(password) < MinPasswordLength {
		p.Add("password", "must be at least %d characters", MinPasswordLength)
	}
	return p.Err()
}

func isUserRole(r Role) bool {
	for _, u := range UserRoles {
		if u == r {
			return true
		}
	}
	return false
}

// APIKey is a secret for machines. Only its hash is stored; the key itself
// (Key) is set once, in the answer to its creation.
type APIKey struct {
	ID        string    `json:"id"`
	AccountID string    `json:"-"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Prefix    string    `json:"prefix"` // the first characters of the key, to recognise it
	Key       string    `json:"key,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// APIKeyPrefix starts every API key, so that secret scanners can find them.
const APIKeyPrefix = "assent_"

// ValidateAPIKey checks a new API key's label and role.
func ValidateAPIKey(name string, role Role) error {
	p := Problems{}
	checkLength(p, "name", name, 0, 100)
	if _, err := ParseRole(string(role)); err != nil {
		p.Add("role", "must be one of admin, marketer, editor, observer, collector")
	}
	return p.Err()
}

// Principal is who makes a request: an API key or a signed-in user, with the
// account and role it acts for.
type Principal struct {
	AccountID string
	Role      Role
	KeyID     string // set for API keys
	UserID    string // set for users
}

// checkLength adds a problem when s has fewer than min or more than max
// characters (runes); a min of 1 reads "is required" when s is empty.
func checkLength(p Problems, field, s string, min, max int) {
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0 && min > 0:
		p.Add(field, "is required")
	case n < min:
		p.Add(field, "must be at least %d characters", min)
	case n > max:
		p.Add(field, "must be at most %d characters", max)
	case !utf8.ValidString(s):
		p.Add(field, "must be valid UTF-8")
	case strings.ContainsRune(s, 0):
		// PostgreSQL cannot store it, and no reader wants it.
		p.Add(field, "must not contain the NUL character")
	}
}
