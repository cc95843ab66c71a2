// Package server is Assent's HTTP surface: the JSON API under /api/v1, the
// health check, the public pages (campaign form, double opt-in
// confirmation, preferences) and the admin UI under /admin.
package server

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"github.com/assentdev/assent/store"
)

// Config holds the settings of a Server.
type Config struct {
	// BaseURL is the public address of the service, without a trailing
	// slash; form links are built from it.
	BaseURL string
	// TrustProxy takes the client address from X-Forwarded-For; set it only
	// behind a reverse proxy that sets that header.
	TrustProxy bool
	// FormRateLimit limits the public form submissions of each client
	// address; the zero value means DefaultFormRateLimit, a negative
	// Requests no limit.
	FormRateLimit RateLimit
	// LoginRateLimit limits the admin sign-in attempts of each client
	// address, and LoginEmailRateLimit those for each email address; the
	// zero values mean DefaultLoginRateLimit and DefaultLoginEmailRateLimit,
	// a negative Requests no limit.
	LoginRateLimit      RateLimit
	LoginEmailRateLimit RateLimit
	// UIDir, when set, is a directory holding the pages' templates/ and
	// static/ (server/ui of the source tree): they are read from it instead
	// of the binary, and the templates are parsed again for every page, so
	// that an edit shows on reload. For development only (serve -dev).
	UIDir string
}

// Server answers Assent's HTTP requests. Create it with New.
type Server struct {
	store      *store.Store
	log        *slog.Logger
	baseURL    string
	trustProxy bool
	mux        *http.ServeMux
	handler    http.Handler
	ui         *publicUI
	adminUI    *adminUI
	// files holds the templates and static files; dev reads them from the
	// disk for every page (Config.UIDir).
	files fs.FS
	dev   bool
	// apiRoutes lists the patterns under /api/v1, in registration order, so
	// that a test can hold the OpenAPI document to them.
	apiRoutes []string
	// adminRoutes lists the patterns of the admin UI, for the test that
	// holds every one of them to the roles of SPEC §6.
	adminRoutes []string
}

// New returns a Server using st for data and log for its logs.
func New(st *store.Store, log *slog.Logger, cfg Config) *Server {
	s := &Server{
		store:      st,
		log:        log,
		baseURL:    strings.TrimRight(cfg.BaseURL, "/"),
		trustProxy: cfg.TrustProxy,
		mux:        http.NewServeMux(),
		files:      uiSource(cfg.UIDir),
		dev:        cfg.UIDir != "",
	}
	s.ui = s.newPublicUI(cfg)
	s.adminUI = s.newAdminUI(cfg)
	s.routes()
	s.handler = s.recoverPanics(s.logRequests(s.mux))
	return s
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// APIRoutes returns the method and path patterns of the JSON API, such as
// "GET /api/v1/optins/{id}".
func (s *Server) APIRoutes() []string {
	return append([]string(nil), s.apiRoutes...)
}

// AdminRoutes returns the method and path patterns of the admin UI, such
// as "GET /admin/optins/{id}".
func (s *Server) AdminRoutes() []string {
	return append([]string(nil), s.adminRoutes...)
}

// PreferencesURL returns the signed link to a participant's preferences
// page, where they see and withdraw their consents without signing in.
func (s *Server) PreferencesURL(ctx context.Context, accountID, participantID string) (string, error) {
	token, err := s.store.PreferencesToken(ctx, accountID, participantID)
	if err != nil {
		return "", err
	}
	return s.baseURL + "/preferences/" + token, nil
}
