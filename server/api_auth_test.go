package server_test

import (
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/server"
)

// Who may do what, from SPEC §6, written out per route rather than taken
// from role.go, so that a mistake there shows here.
var (
	rolesAll       = []assent.Role{assent.RoleAdmin, assent.RoleMarketer, assent.RoleEditor, assent.RoleObserver, assent.RoleCollector}
	rolesReading   = []assent.Role{assent.RoleAdmin, assent.RoleMarketer, assent.RoleEditor, assent.RoleObserver}
	rolesAdmin     = []assent.Role{assent.RoleAdmin}
	rolesMarketing = []assent.Role{assent.RoleAdmin, assent.RoleMarketer}
	rolesEditing   = []assent.Role{assent.RoleAdmin, assent.RoleMarketer, assent.RoleEditor}
	rolesSubmit    = []assent.Role{assent.RoleAdmin, assent.RoleMarketer, assent.RoleEditor, assent.RoleCollector}
	routeAllowed   = map[string][]assent.Role{
		"GET /api/v1/openapi.json": rolesAll,

		"GET /api/v1/account":               rolesReading, // the time zone frames every report
		"PATCH /api/v1/account":             rolesAdmin,
		"GET /api/v1/users":                 rolesAdmin,
		"POST /api/v1/users":                rolesAdmin,
		"GET /api/v1/apikeys":               rolesAdmin,
		"POST /api/v1/apikeys":              rolesAdmin,
		"DELETE /api/v1/apikeys/{id}":       rolesAdmin,
		"GET /api/v1/categories":            rolesReading,
		"GET /api/v1/subcategories":         rolesReading,
		"POST /api/v1/subcategories":        rolesMarketing,
		"GET /api/v1/subcategories/{id}":    rolesReading,
		"PATCH /api/v1/subcategories/{id}":  rolesMarketing,
		"DELETE /api/v1/subcategories/{id}": rolesMarketing,
		"GET /api/v1/optins":                rolesReading,
		"POST /api/v1/optins":               rolesMarketing,
		"GET /api/v1/optins/{id}":           rolesReading,
		"PATCH /api/v1/optins/{id}":         rolesMarketing,
		"DELETE /api/v1/optins/{id}":        rolesMarketing,
		"GET /api/v1/optins/{id}/versions":  rolesReading,
		"GET /api/v1/campaigns":             rolesReading,
		"POST /api/v1/campaigns":            rolesEditing,
		"GET /api/v1/campaigns/{id}":        rolesReading,
		"PATCH /api/v1/campaigns/{id}":      rolesEditing,

		"POST /api/v1/campaigns/{id}/participations": rolesSubmit,
		"GET /api/v1/campaigns/{id}/participations":  rolesReading,
		"GET /api/v1/campaigns/{id}/stats":           rolesReading,
		"GET /api/v1/optins/{id}/audience":           rolesReading,
		"GET /api/v1/stats/optins":                   rolesReading,
		"GET /api/v1/stats/global":                   rolesMarketing,
		"GET /api/v1/participants":                   rolesMarketing,
		"GET /api/v1/participants/{id}":              rolesMarketing,
		"GET /api/v1/participants/{id}/proof":        rolesMarketing,
		"POST /api/v1/participants/{id}/withdrawals": rolesMarketing,
		"DELETE /api/v1/participants/{id}":           rolesAdmin,
		"GET /api/v1/ledger/verify":                  rolesAdmin,

		"GET /api/v1/webhooks":                     rolesAdmin,
		"POST /api/v1/webhooks":                    rolesAdmin,
		"GET /api/v1/webhooks/{id}":                rolesAdmin,
		"PATCH /api/v1/webhooks/{id}":              rolesAdmin,
		"DELETE /api/v1/webhooks/{id}":             rolesAdmin,
		"POST /api/v1/webhooks/{id}/rotate-secret": rolesAdmin,
		"GET /api/v1/webhooks/{id}/deliveries":     rolesAdmin,
		"POST /api/v1/webhooks/{id}/test":          rolesAdmin,
		"POST /api/v1/events/{id}/replay":          rolesAdmin,
	}
)

// TestRouteTableIsComplete keeps routeAllowed in step with routes.go.
func TestRouteTableIsComplete(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	routes := server.New(e.store, slog.New(slog.NewTextHandler(io.Discard, nil)), server.Config{}).APIRoutes()
	for _, r := range routes {
		if _, ok := routeAllowed[r]; !ok {
			t.Errorf("route %s: got no entry in routeAllowed, want one", r)
		}
	}
	for r := range routeAllowed {
		if !slices.Contains(routes, r) {
			t.Errorf("routeAllowed: got %s, which routes.go does not register", r)
		}
	}
}

// routeRequest turns a route pattern into a method and path, with id for {id}.
func routeRequest(pattern, id string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	return method, strings.ReplaceAll(path, "{id}", id)
}

func TestRoles(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	before := e.snapshot("/api/v1/account", "/api/v1/users", "/api/v1/apikeys", "/api/v1/subcategories",
		"/api/v1/optins", "/api/v1/campaigns", "/api/v1/webhooks")
	for pattern, allowed := range routeAllowed {
		for _, role := range assent.Roles {
			t.Run(pattern+" as "+string(role), func(t *testing.T) {
				e := e.in(t)
				method, path := routeRequest(pattern, "missing")
				var body any
				if method == "POST" || method == "PATCH" {
					body = map[string]any{}
				}
				r := e.call(e.keys[role], method, path, body)
				if slices.Contains(allowed, role) {
					if r.status == 401 || r.status == 403 {
						t.Errorf("got %d %s, want the role let through", r.status, r.raw)
					}
					return
				}
				if r.status != 403 || r.errorCode() != "forbidden" {
					t.Errorf("got %d %s, want 403 forbidden", r.status, r.raw)
				}
			})
		}
	}
	// Every allowed request above was empty or aimed at a missing id.
	e.unchanged(before)
}

// TestForbiddenChangesNothing sends each write, well formed and aimed at
// real data, with every role that may not make it, and checks that nothing
// changed.
func TestForbiddenChangesNothing(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	sub := e.subcategory("news", "newsletter_marketing")
	unusedSub := e.subcategory("unused", "others")
	optin := e.optin("en", "news")
	unusedOptin := e.optin("en", "legal")
	campaign := e.campaign("en", optin)
	key := e.must(201, e.admin("POST", "/api/v1/apikeys", map[string]any{"name": "victim", "role": "observer"}))
	hook := e.must(201, e.admin("POST", "/api/v1/webhooks", map[string]any{"url": "https://example.com/hook",
		"events": []string{"participation.created"}})).str("id")
	event := e.must(202, e.admin("POST", "/api/v1/webhooks/"+hook+"/test", nil)).str("event_id")
	participant := e.must(201, e.admin("POST", "/api/v1/campaigns/"+campaign+"/participations", map[string]any{
		"email": "ada@example.com", "answers": map[string]any{optin: true}})).str("participant_id")
	ids := map[string]string{
		"/api/v1/apikeys/{id}":       key.str("id"),
		"/api/v1/subcategories/{id}": sub,
		"/api/v1/optins/{id}":        optin,
		"/api/v1/campaigns/{id}":     campaign,
		"/api/v1/participants/{id}":  participant,
		"/api/v1/webhooks/{id}":      hook,
		"/api/v1/events/{id}":        event,
	}
	bodies := map[string]any{
		"PATCH /api/v1/account":            map[string]any{"name": "hijacked", "time_zone": "Asia/Tokyo"},
		"POST /api/v1/users":               map[string]any{"email": "mallory@example.com", "role": "admin", "password": "0123456789abc"},
		"POST /api/v1/apikeys":             map[string]any{"name": "backdoor", "role": "admin"},
		"POST /api/v1/subcategories":       map[string]any{"name": "New", "value": "new", "category": "legal"},
		"PATCH /api/v1/subcategories/{id}": map[string]any{"name": "Renamed", "category": "partners"},
		"POST /api/v1/optins":              map[string]any{"name": "New", "language": "en", "text": "x", "subcategories": []string{"legal"}},
		"PATCH /api/v1/optins/{id}":        map[string]any{"text": "Changed", "status": "archived"},
		"POST /api/v1/campaigns":           map[string]any{"name": "New", "language": "en"},
		"PATCH /api/v1/campaigns/{id}":     map[string]any{"name": "Changed", "optins": []string{}, "status": "archived"},
		"POST /api/v1/campaigns/{id}/participations": map[string]any{"email": "bob@example.com",
			"answers": map[string]any{optin: true}},
		"POST /api/v1/participants/{id}/withdrawals": map[string]any{"all": true},
		"POST /api/v1/webhooks": map[string]any{"url": "https://evil.example/hook",
			"events": []string{"participation.created"}},
		"PATCH /api/v1/webhooks/{id}":     map[string]any{"url": "https://evil.example/hook", "enabled": false},
		"POST /api/v1/events/{id}/replay": map[string]any{"endpoint_id": hook},
	}
	before := e.snapshot("/api/v1/account", "/api/v1/users", "/api/v1/apikeys", "/api/v1/subcategories",
		"/api/v1/subcategories/"+sub, "/api/v1/subcategories/"+unusedSub, "/api/v1/optins", "/api/v1/optins/"+optin,
		"/api/v1/optins/"+optin+"/versions", "/api/v1/optins/"+unusedOptin, "/api/v1/campaigns", "/api/v1/campaigns/"+campaign,
		"/api/v1/participants/"+participant+"/proof", "/api/v1/campaigns/"+campaign+"/participations",
		"/api/v1/webhooks", "/api/v1/webhooks/"+hook, "/api/v1/webhooks/"+hook+"/deliveries")
	for pattern, allowed := range routeAllowed {
		method, _ := routeRequest(pattern, "")
		if method == "GET" {
			continue
		}
		for _, role := range assent.Roles {
			if slices.Contains(allowed, role) {
				continue
			}
			t.Run(pattern+" as "+string(role), func(t *testing.T) {
				e := e.in(t)
				id := ""
				_, route := routeRequest(pattern, "{id}")
				for prefix, v := range ids {
					if strings.HasPrefix(route, prefix) {
						id = v
					}
				}
				if method == "DELETE" && strings.Contains(pattern, "subcategories") {
					id = unusedSub
				}
				if method == "DELETE" && strings.Contains(pattern, "optins") {
					id = unusedOptin
				}
				_, path := routeRequest(pattern, id)
				r := e.call(e.keys[role], method, path, bodies[pattern])
				if r.status != 403 {
					t.Errorf("got %d %s, want 403", r.status, r.raw)
				}
			})
		}
	}
	e.unchanged(before)
	e.must(200, e.call(key.str("key"), "GET", "/api/v1/categories", nil))
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	valid := e.keys[assent.RoleAdmin]
	tests := []struct {
		name, authorization string
		want                int
	}{
		{"no header", "", 401},
		{"bad key", "Bearer assent_notakey", 401},
		{"key without prefix", "Bearer " + strings.TrimPrefix(valid, "assent_"), 401},
		{"key with a character more", "Bearer " + valid + "x", 401},
		{"basic scheme", "Basic " + valid, 401},
		{"no scheme", valid, 401},
		{"scheme only", "Bearer", 401},
		{"empty key", "Bearer   ", 401},
		{"valid", "Bearer " + valid, 200},
		{"scheme in lower case", "bearer " + valid, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.in(t)
			h := map[string][]string{}
			if tt.authorization != "" {
				h["Authorization"] = []string{tt.authorization}
			}
			r := e.do("GET", "/api/v1/subcategories", h, nil)
			if r.status != tt.want {
				t.Fatalf("got %d %s, want %d", r.status, r.raw, tt.want)
			}
			if tt.want != 401 {
				return
			}
			if got := r.errorCode(); got != "unauthorized" {
				t.Errorf("code: got %q, want unauthorized", got)
			}
			if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("WWW-Authenticate: got %q, want a Bearer challenge", got)
			}
			if strings.Contains(string(r.raw), valid) {
				t.Errorf("got the key echoed in %s", r.raw)
			}
		})
	}
}

// Every protected route asks for a key before anything else: no data, no
// validation and no existence check leaks to an anonymous caller.
func TestEveryRouteNeedsAKey(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	optin := e.optin("en", "legal")
	for pattern := range routeAllowed {
		if pattern == "GET /api/v1/openapi.json" {
			continue
		}
		t.Run(pattern, func(t *testing.T) {
			e := e.in(t)
			method, path := routeRequest(pattern, optin)
			var body any
			if method == "POST" || method == "PATCH" {
				body = "{not json"
			}
			for _, key := range []string{"", "assent_wrong"} {
				r := e.call(key, method, path, body)
				if r.status != 401 || r.errorCode() != "unauthorized" || r.header.Get("WWW-Authenticate") == "" {
					t.Errorf("key %q: got %d %v %s, want 401 unauthorized with WWW-Authenticate", key, r.status, r.header, r.raw)
				}
			}
		})
	}
	e.must(200, e.call("", "GET", "/api/v1/openapi.json", nil))
}
