package server_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/assentdev/assent/server"
	"github.com/assentdev/assent/store/storetest"
)

// openapiMethods are the keys of an OpenAPI path item that are operations;
// the others (parameters, summary, servers…) are not.
var openapiMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// fetchOpenAPI starts a server on a fresh database, fetches its OpenAPI
// document as an anonymous client would, and returns both. It fails the
// test unless the document is served with 200 as JSON declaring OpenAPI 3.1.0.
func fetchOpenAPI(t *testing.T) (*server.Server, map[string]any) {
	t.Helper()
	srv := server.New(storetest.New(t), slog.New(slog.NewTextHandler(io.Discard, nil)), server.Config{BaseURL: "http://x"})
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)

	res, err := http.Get(ts.URL + "/api/v1/openapi.json") // no Authorization: the document is public
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json: got status %d, want 200: %s", res.StatusCode, raw)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type: got %q, want application/json", ct)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("the document is not valid JSON: %v", err)
	}
	if got := doc["openapi"]; got != "3.1.0" {
		t.Fatalf("openapi: got %v, want 3.1.0", got)
	}
	return srv, doc
}

// openapiOperations returns the operations of doc by "METHOD path", such as
// "GET /api/v1/optins/{id}": the form of server.APIRoutes.
func openapiOperations(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatalf("paths: got %T, want an object", doc["paths"])
	}
	ops := map[string]map[string]any{}
	for path, v := range paths {
		item, ok := v.(map[string]any)
		if !ok {
			t.Errorf("paths[%q]: got %T, want an object", path, v)
			continue
		}
		for _, m := range openapiMethods {
			if v, ok := item[m]; ok {
				op, ok := v.(map[string]any)
				if !ok {
					t.Errorf("%s %s: got %T, want an object", strings.ToUpper(m), path, v)
					continue
				}
				ops[strings.ToUpper(m)+" "+path] = op
			}
		}
	}
	return ops
}

func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	_, doc := fetchOpenAPI(t)
	info, _ := doc["info"].(map[string]any)
	if got := info["title"]; got != "Assent API" {
		t.Errorf("info.title: got %v, want Assent API", got)
	}
	// The document is the one route anyone may read: it must say so, since
	// the global security requirement would otherwise cover it.
	op := openapiOperations(t, doc)["GET /api/v1/openapi.json"]
	if sec, ok := op["security"].([]any); !ok || len(sec) != 0 {
		t.Errorf("GET /api/v1/openapi.json security: got %v, want []", op["security"])
	}
}

// TestOpenAPIRoutes holds the document to the routes the server really
// registers, in both directions.
func TestOpenAPIRoutes(t *testing.T) {
	t.Parallel()
	srv, doc := fetchOpenAPI(t)
	documented := openapiOperations(t, doc)
	served := map[string]bool{}
	for _, r := range srv.APIRoutes() {
		served[r] = true
	}
	if len(served) == 0 {
		t.Fatal("APIRoutes: got no route, want every /api/v1 route")
	}
	var missing, extra []string
	for r := range served {
		if documented[r] == nil {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !served[r] {
			extra = append(extra, r)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	for _, r := range missing {
		t.Errorf("route %s: got no operation in the document, want one", r)
	}
	for _, r := range extra {
		t.Errorf("operation %s: got no such route in the server, want it removed from the document", r)
	}
}

// openapiPathParam matches the {name} segments of an OpenAPI path.
var openapiPathParam = regexp.MustCompile(`\{([^}]+)\}`)

// TestOpenAPIOperations checks that every operation has a unique
// operationId, at least one response with a valid status, and a path
// parameter for each {name} of its path (and no other).
func TestOpenAPIOperations(t *testing.T) {
	t.Parallel()
	_, doc := fetchOpenAPI(t)
	ops := openapiOperations(t, doc)
	keys := make([]string, 0, len(ops))
	for k := range ops {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	owner := map[string]string{} // operationId → operation
	for _, k := range keys {
		op := ops[k]
		id, _ := op["operationId"].(string)
		switch {
		case id == "":
			t.Errorf("%s operationId: got none, want one", k)
		case owner[id] != "":
			t.Errorf("%s operationId: got %q, want one not taken by %s", k, id, owner[id])
		default:
			owner[id] = k
		}

		responses, _ := op["responses"].(map[string]any)
		if len(responses) == 0 {
			t.Errorf("%s responses: got none, want at least one", k)
		}
		for status := range responses {
			if n, err := strconv.Atoi(status); status != "default" && (err != nil || n < 100 || n > 599) {
				t.Errorf("%s response %q: got no HTTP status, want 100 to 599 or default", k, status)
			}
		}

		_, path, _ := strings.Cut(k, " ")
		var want []string
		for _, m := range openapiPathParam.FindAllStringSubmatch(path, -1) {
			want = append(want, m[1])
		}
		var got []string
		params, _ := op["parameters"].([]any)
		for _, p := range params {
			p := openapiResolve(doc, p)
			if p["in"] == "path" {
				name, _ := p["name"].(string)
				got = append(got, name)
				if p["required"] != true {
					t.Errorf("%s path parameter %s: got required %v, want true", k, name, p["required"])
				}
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s path parameters: got %v, want %v", k, got, want)
		}
	}
}

// TestOpenAPIRefs checks that every $ref of the document points to an
// existing component of the document itself.
func TestOpenAPIRefs(t *testing.T) {
	t.Parallel()
	_, doc := fetchOpenAPI(t)
	n := 0
	openapiWalk(doc, "#", func(at string, obj map[string]any) {
		v, ok := obj["$ref"]
		if !ok {
			return
		}
		n++
		ref, _ := v.(string)
		segments := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
		if !strings.HasPrefix(ref, "#/components/") || len(segments) != 3 {
			t.Errorf("%s: got $ref %q, want #/components/<kind>/<name>", at, ref)
			return
		}
		if _, ok := openapiLookup(doc, segments); !ok {
			t.Errorf("%s: got $ref %q, want an existing component", at, ref)
		}
	})
	if n == 0 {
		t.Error("got no $ref in the document, want shared components to be used")
	}
}

// openapiWalk calls visit for every object in v, at is its JSON pointer.
func openapiWalk(v any, at string, visit func(at string, obj map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		visit(at, v)
		for k, child := range v {
			openapiWalk(child, at+"/"+strings.NewReplacer("~", "~0", "/", "~1").Replace(k), visit)
		}
	case []any:
		for i, child := range v {
			openapiWalk(child, at+"/"+strconv.Itoa(i), visit)
		}
	}
}

// openapiLookup follows the (escaped) segments of a JSON pointer through objects.
func openapiLookup(doc map[string]any, segments []string) (any, bool) {
	var cur any = doc
	for _, s := range segments {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[strings.NewReplacer("~1", "/", "~0", "~").Replace(s)]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// openapiResolve returns the object v, or the component it refers to; an empty
// object when neither exists (TestOpenAPIRefs reports broken refs).
func openapiResolve(doc map[string]any, v any) map[string]any {
	obj, _ := v.(map[string]any)
	if ref, ok := obj["$ref"].(string); ok {
		target, _ := openapiLookup(doc, strings.Split(strings.TrimPrefix(ref, "#/"), "/"))
		obj, _ = target.(map[string]any)
	}
	if obj == nil {
		return map[string]any{}
	}
	return obj
}
