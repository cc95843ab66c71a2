package server

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
)

//go:embed openapi.json
var openapiDocument []byte

// healthz answers 200 when the database answers, 503 otherwise.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "health check failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// apiNotFound answers unknown API paths in the JSON error shape: 405 with
// an Allow header when the path exists for other methods, 404 otherwise.
// (The catch-all /api/v1/ route would otherwise hide the mux's own 405.)
func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "/api/v1/" && pattern != "" {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		s.writeError(w, r, &httpError{status: http.StatusMethodNotAllowed, code: codeMethodNotAllowed,
			message: fmt.Sprintf("%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allowed, ", "))})
		return
	}
	s.writeError(w, r, assent.Errorf(assent.ENOTFOUND, "no API route %s %s", r.Method, r.URL.Path))
}

func (s *Server) apiOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openapiDocument)
	return err
}

// pageOf reads the limit and cursor query parameters.
func pageOf(r *http.Request) (store.Page, error) {
	q := r.URL.Query()
	p := store.Page{Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		// 0 would read as "the default" further down; a client that sends
		// it asked for something else, so it is refused like any bad limit.
		if err != nil || n < 1 {
			return p, &assent.Error{Code: assent.EINVALID, Message: "invalid page",
				Fields: map[string]string{"limit": "must be a whole number between 1 and 1000"}}
		}
		p.Limit = n
	}
	return p, nil
}
