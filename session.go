package assent

import "time"

// A session lasts SessionLifetime from sign-in at most, and ends sooner
// when unused for SessionIdleTimeout.
const (
	SessionLifetime    = 12 * time.Hour
	SessionIdleTimeout = 2 * time.Hour
)

// Session is a signed-in user's visit of the admin UI. Its id is the
// SHA-256 of a random token that only the browser holds (in a cookie), so
// that a copy of the database signs nobody in.
type Session struct {
	ID         string
	UserID     string
	AccountID  string
	CreatedAt  time.Time
	ExpiresAt  time.Time // CreatedAt + SessionLifetime
	LastSeenAt time.Time
	// User and Account are the session's user, with their current role, and
	// account, filled in when a session is looked up by its token.
	User    User
	Account Account
}

// Live reports whether the session is still valid at now: before its
// absolute expiry and used within the idle timeout.
func (s Session) Live(now time.Time) bool {
	return now.Before(s.ExpiresAt) && now.Sub(s.LastSeenAt) < SessionIdleTimeout
}

// Principal returns who acts through the session.
func (s Session) Principal() Principal {
	return Principal{AccountID: s.AccountID, Role: s.User.Role, UserID: s.UserID}
}
