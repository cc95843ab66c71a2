package store

import (
	"encoding/base64"

	"github.com/assentdev/assent"
)

// Page asks for one page of a list ordered by id: at most Limit items after
// the opaque Cursor (empty for the first page).
type Page struct {
	Cursor string
	Limit  int
}

// DefaultLimit and MaxLimit bound the size of list pages.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// after decodes the cursor into the id to continue after, and the limit.
func (p Page) after() (string, int, error) {
	limit := p.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		return "", 0, &assent.Error{Code: assent.EINVALID, Message: "invalid page",
			Fields: map[string]string{"limit": "must be between 1 and 1000"}}
	}
	if p.Cursor == "" {
		return "", limit, nil
	}
	id, err := base64.RawURLEncoding.DecodeString(p.Cursor)
	if err != nil || len(id) == 0 || !storable(string(id)) {
		return "", 0, &assent.Error{Code: assent.EINVALID, Message: "invalid page",
			Fields: map[string]string{"cursor": "is not a cursor this API returned"}}
	}
	return string(id), limit, nil
}

// nextCursor returns the cursor for the page after items, given that the
// query fetched limit+1 rows: "" when there is no further page.
func nextCursor[T any](items []T, limit int, id func(T) string) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, base64.RawURLEncoding.EncodeToString([]byte(id(items[limit-1])))
}
