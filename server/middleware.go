package server

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/assentdev/assent"
)

type contextKey int

const (
	keyRequestID contextKey = iota
	keyPrincipal
	keySession // the admin UI's session, with its user and account
)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

func principal(ctx context.Context) assent.Principal {
	p, _ := ctx.Value(keyPrincipal).(assent.Principal)
	return p
}

// statusRecorder remembers the status a handler wrote, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// logRequests gives every request an id (answered in X-Request-Id) and logs
// it once done.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := assent.RandomToken(10)
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), keyRequestID, id)))
		s.log.InfoContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration", time.Since(start), "request_id", id)
	})
}

// recoverPanics turns a panicking handler into a logged 500.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.writeError(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// apiFunc is a JSON API handler: it writes its answer, or returns an error
// that the adapter writes in the one error shape.
type apiFunc func(w http.ResponseWriter, r *http.Request) error

// api registers an API route that requires an API key whose role may do
// action. A zero action means the route is public.
func (s *Server) api(pattern string, action assent.Action, h apiFunc) {
	s.apiRoutes = append(s.apiRoutes, pattern)
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if action != 0 {
			p, err := s.authenticate(r)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			if !p.Role.Can(action) {
				s.writeError(w, r, assent.Errorf(assent.EFORBIDDEN, "the role %s may not do this", p.Role))
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), keyPrincipal, p))
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}))
}

// authenticate finds the principal of the request's bearer API key.
func (s *Server) authenticate(r *http.Request) (assent.Principal, error) {
	h := r.Header.Get("Authorization")
	scheme, key, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		return assent.Principal{}, &httpError{status: http.StatusUnauthorized, code: codeUnauthorized,
			message: "send an API key in the header Authorization: Bearer <key>"}
	}
	p, err := s.store.Authenticate(r.Context(), strings.TrimSpace(key))
	if assent.ErrorCode(err) == assent.ENOTFOUND {
		return p, &httpError{status: http.StatusUnauthorized, code: codeUnauthorized, message: "the API key is not valid"}
	}
	return p, err
}
