package server_test

import (
	"strings"
	"testing"

	"github.com/assentdev/assent"
)

func TestAccountGet(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	for _, role := range []assent.Role{assent.RoleAdmin, assent.RoleMarketer, assent.RoleEditor, assent.RoleObserver} {
		r := e.must(200, e.call(e.keys[role], "GET", "/api/v1/account", nil))
		if r.str("id") != e.acme.ID || r.str("name") != "acme" || r.str("time_zone") != "UTC" {
			t.Errorf("%s: got %s, want acme (%s) in UTC", role, r.raw, e.acme.ID)
		}
	}
	r := e.must(200, e.call(e.otherKey, "GET", "/api/v1/account", nil))
	if r.str("id") != e.other.ID {
		t.Errorf("other: got %s, want its own account %s", r.raw, e.other.ID)
	}
}

func TestAccountUpdate(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	r := e.must(200, e.admin("PATCH", "/api/v1/account", map[string]any{"time_zone": "Europe/Brussels"}))
	if r.str("time_zone") != "Europe/Brussels" || r.str("name") != "acme" {
		t.Errorf("got %s, want acme in Europe/Brussels", r.raw)
	}
	r = e.must(200, e.admin("PATCH", "/api/v1/account", map[string]any{"name": "  Acme Corp "}))
	if r.str("time_zone") != "Europe/Brussels" || r.str("name") != "Acme Corp" {
		t.Errorf("got %s, want Acme Corp in Europe/Brussels", r.raw)
	}
	if g := e.get("/api/v1/account"); string(g.raw) != string(r.raw) {
		t.Errorf("GET: got %s, want %s", g.raw, r.raw)
	}
	e.must(200, e.admin("PATCH", "/api/v1/account", map[string]any{"time_zone": "America/Argentina/Buenos_Aires"}))
	e.must(200, e.admin("PATCH", "/api/v1/account", map[string]any{"time_zone": "UTC"}))

	before := e.snapshot("/api/v1/account")
	tests := []struct {
		name  string
		patch map[string]any
		field string
	}{
		{"unknown time zone", map[string]any{"time_zone": "Mars/Olympus_Mons"}, "time_zone"},
		{"empty time zone", map[string]any{"time_zone": ""}, "time_zone"},
		{"Local", map[string]any{"time_zone": "Local"}, "time_zone"},
		{"offset", map[string]any{"time_zone": "+02:00"}, "time_zone"},
		{"path", map[string]any{"time_zone": "../../etc/passwd"}, "time_zone"},
		{"empty name", map[string]any{"name": " "}, "name"},
		{"name of 101 characters", map[string]any{"name": strings.Repeat("a", 101)}, "name"},
		{"good name, bad time zone", map[string]any{"name": "Fine", "time_zone": "Europe/Nowhere"}, "time_zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.in(t)
			r := e.must(422, e.admin("PATCH", "/api/v1/account", tt.patch))
			if r.errorField(tt.field) == "" {
				t.Errorf("fields: got %s, want a problem for %s", r.raw, tt.field)
			}
		})
	}
	e.unchanged(before)
	// The other account is untouched by all this.
	r = e.must(200, e.call(e.otherKey, "GET", "/api/v1/account", nil))
	if r.str("name") != "other" || r.str("time_zone") != "UTC" {
		t.Errorf("other account: got %s, want other in UTC", r.raw)
	}
}

func TestUserCreate(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	password := "correct horse battery"
	r := e.must(201, e.admin("POST", "/api/v1/users", map[string]any{
		"email": "  Ann.Smith@Example.COM ", "name": " Ann Smith ", "role": "marketer", "password": password}))
	if r.str("id") == "" || r.str("email") != "ann.smith@example.com" || r.str("name") != "Ann Smith" || r.str("role") != "marketer" {
		t.Errorf("got %s, want ann.smith@example.com, Ann Smith, marketer", r.raw)
	}
	list := e.get("/api/v1/users")
	if ids := list.ids(); len(ids) != 1 || ids[0] != r.str("id") {
		t.Errorf("list: got %v, want [%s]", ids, r.str("id"))
	}
	for _, raw := range [][]byte{r.raw, list.raw} {
		for _, secret := range []string{password, "argon2", "password"} {
			if strings.Contains(strings.ToLower(string(raw)), secret) {
				t.Errorf("answer %s: got %q in it, want no trace of the password", raw, secret)
			}
		}
	}
	for _, role := range []string{"admin", "editor", "observer"} {
		r := e.must(201, e.admin("POST", "/api/v1/users", map[string]any{
			"email": role + "@example.com", "role": role, "password": "0123456789"}))
		if r.str("role") != role {
			t.Errorf("role: got %q, want %s", r.str("role"), role)
		}
	}
	// The other account sees none of acme's users.
	if ids := e.must(200, e.call(e.otherKey, "GET", "/api/v1/users", nil)).ids(); len(ids) != 0 {
		t.Errorf("other account's users: got %v, want none", ids)
	}
}

func TestUserCreateInvalid(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	e.must(201, e.admin("POST", "/api/v1/users", map[string]any{
		"email": "taken@example.com", "role": "observer", "password": "0123456789"}))
	before := e.snapshot("/api/v1/users")
	tests := []struct {
		name   string
		body   map[string]any
		status int
		field  string
	}{
		{"password of 9 characters", map[string]any{"email": "a@example.com", "role": "editor", "password": "012345678"}, 422, "password"},
		{"no password", map[string]any{"email": "a@example.com", "role": "editor"}, 422, "password"},
		{"no email", map[string]any{"role": "editor", "password": "0123456789"}, 422, "email"},
		{"email without at", map[string]any{"email": "ann.example.com", "role": "editor", "password": "0123456789"}, 422, "email"},
		{"email without dot in domain", map[string]any{"email": "ann@example", "role": "editor", "password": "0123456789"}, 422, "email"},
		{"email with display name", map[string]any{"email": "Ann <ann@example.com>", "role": "editor", "password": "0123456789"}, 422, "email"},
		{"two emails", map[string]any{"email": "a@example.com, b@example.com", "role": "editor", "password": "0123456789"}, 422, "email"},
		{"role collector", map[string]any{"email": "a@example.com", "role": "collector", "password": "0123456789"}, 422, "role"},
		{"no role", map[string]any{"email": "a@example.com", "password": "0123456789"}, 422, "role"},
		{"unknown role", map[string]any{"email": "a@example.com", "role": "owner", "password": "0123456789"}, 422, "role"},
		{"role in upper case", map[string]any{"email": "a@example.com", "role": "ADMIN", "password": "0123456789"}, 422, "role"},
		{"name of 201 characters", map[string]any{"email": "a@example.com", "role": "editor", "password": "0123456789",
			"name": strings.Repeat("n", 201)}, 422, "name"},
		{"email taken", map[string]any{"email": "taken@example.com", "role": "editor", "password": "0123456789"}, 409, "email"},
		{"email taken, other case", map[string]any{"email": " TAKEN@example.com", "role": "admin", "password": "0123456789"}, 409, "email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.in(t)
			r := e.must(tt.status, e.admin("POST", "/api/v1/users", tt.body))
			if r.errorField(tt.field) == "" {
				t.Errorf("fields: got %s, want a problem for %s", r.raw, tt.field)
			}
		})
	}
	e.unchanged(before)
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	r := e.must(201, e.admin("POST", "/api/v1/apikeys", map[string]any{"name": " ci ", "role": "observer"}))
	id, key := r.str("id"), r.str("key")
	if id == "" || !strings.HasPrefix(key, "assent_") || len(key) < 40 {
		t.Fatalf("got %s, want an id and a long key starting with assent_", r.raw)
	}
	if r.str("name") != "ci" || r.str("role") != "observer" || r.str("prefix") == "" || !strings.HasPrefix(key, r.str("prefix")) {
		t.Errorf("got %s, want name ci, role observer and a prefix of the key", r.raw)
	}
	list := e.get("/api/v1/apikeys")
	found := false
	for _, item := range list.data() {
		k := item.(map[string]any)
		if _, has := k["key"]; has {
			t.Errorf("list: got a key field in %v", k)
		}
		if k["id"] == id {
			found = true
			if k["prefix"] != r.str("prefix") || k["name"] != "ci" || k["role"] != "observer" {
				t.Errorf("list: got %v, want the key's prefix, name and role", k)
			}
		}
	}
	if !found {
		t.Errorf("list: got %s, want the key %s", list.raw, id)
	}
	if strings.Contains(string(list.raw), key) || strings.Contains(string(list.raw), key[len(r.str("prefix")):]) {
		t.Errorf("list: got the secret in %s", list.raw)
	}
	// The key works, with its role, for its account only.
	if got := e.call(key, "GET", "/api/v1/categories", nil).status; got != 200 {
		t.Errorf("new key reading: got %d, want 200", got)
	}
	if got := e.call(key, "POST", "/api/v1/subcategories", map[string]any{"name": "x", "value": "x", "category": "legal"}).status; got != 403 {
		t.Errorf("new observer key writing: got %d, want 403", got)
	}
	if got := e.call(key, "GET", "/api/v1/account", nil).str("id"); got != e.acme.ID {
		t.Errorf("new key's account: got %q, want %s", got, e.acme.ID)
	}
	// Another account neither sees nor revokes it.
	for _, other := range e.must(200, e.call(e.otherKey, "GET", "/api/v1/apikeys", nil)).ids() {
		if other == id {
			t.Errorf("other account's keys: got acme's key %s", id)
		}
	}
	e.must(404, e.call(e.otherKey, "DELETE", "/api/v1/apikeys/"+id, nil))
	e.must(200, e.call(key, "GET", "/api/v1/categories", nil))
	// Its account can.
	e.must(204, e.admin("DELETE", "/api/v1/apikeys/"+id, nil))
	r = e.must(401, e.call(key, "GET", "/api/v1/categories", nil))
	if got := r.errorCode(); got != "unauthorized" {
		t.Errorf("revoked key: got code %q, want unauthorized", got)
	}
	e.must(404, e.admin("DELETE", "/api/v1/apikeys/"+id, nil))
	for _, item := range e.get("/api/v1/apikeys").data() {
		if item.(map[string]any)["id"] == id {
			t.Errorf("list: got the revoked key %s", id)
		}
	}
	// A collector key may submit participations only, so it reads nothing.
	c := e.must(201, e.admin("POST", "/api/v1/apikeys", map[string]any{"role": "collector"})).str("key")
	e.must(403, e.call(c, "GET", "/api/v1/optins", nil))
}

func TestAPIKeyCreateInvalid(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	before := e.snapshot("/api/v1/apikeys")
	tests := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no role", map[string]any{"name": "x"}, "role"},
		{"unknown role", map[string]any{"name": "x", "role": "root"}, "role"},
		{"name of 101 characters", map[string]any{"name": strings.Repeat("k", 101), "role": "admin"}, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.in(t)
			r := e.must(422, e.admin("POST", "/api/v1/apikeys", tt.body))
			if r.errorField(tt.field) == "" {
				t.Errorf("fields: got %s, want a problem for %s", r.raw, tt.field)
			}
		})
	}
	e.unchanged(before)
}

func TestAPIKeyRevokeOwn(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	r := e.must(201, e.admin("POST", "/api/v1/apikeys", map[string]any{"name": "temp", "role": "admin"}))
	key := r.str("key")
	e.must(204, e.call(key, "DELETE", "/api/v1/apikeys/"+r.str("id"), nil))
	e.must(401, e.call(key, "GET", "/api/v1/apikeys", nil))
	// The other keys still work.
	e.get("/api/v1/apikeys")
}
