package assent

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in the server package; the
// strings are part of the API contract (error.code).
const (
	ECONFLICT  = "conflict"
	EFORBIDDEN = "forbidden"
	EINVALID   = "invalid"
	ENOTFOUND  = "not_found"
	EINTERNAL  = "internal"
)

// Error is an error a user can act on: a code from the list above, a message
// that names the problem, and for EINVALID the problem of each field.
// Anything that is not an *Error is internal and never shown to users.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Code + ": " + e.Message
	}
	return fmt.Sprintf("%s: %s %v", e.Code, e.Message, e.Fields)
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFound returns the ENOTFOUND error for a kind of thing ("opt-in").
// It is also the answer for another account's ids, so it never says more.
func NotFound(kind string) *Error {
	return Errorf(ENOTFOUND, "%s not found", kind)
}

// ErrorCode returns the code of err when it is an *Error, EINTERNAL otherwise.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// Problems collects per-field validation problems. The zero value is ready
// to use; Err returns nil when nothing was added.
type Problems map[string]string

// Add records a problem for field unless one is already recorded, so the
// first (most basic) problem of a field is the one reported.
func (p Problems) Add(field, format string, args ...any) {
	if _, ok := p[field]; !ok {
		p[field] = fmt.Sprintf(format, args...)
	}
}

// Err returns an EINVALID *Error holding the problems, or nil if there are none.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "some fields are invalid", Fields: map[string]string(p)}
}
