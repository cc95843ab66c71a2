package server

import (
	"net"
	"net/http"
	"strings"

	"github.com/assentdev/assent"
)

// participationRequest is the body of POST /campaigns/{id}/participations.
type participationRequest struct {
	Email     string           `json:"email"`
	FirstName string           `json:"first_name"`
	LastName  string           `json:"last_name"`
	Answers   map[string]*bool `json:"answers"`
	UTM       *assent.UTM      `json:"utm"`
	// IP and UserAgent let a customer's back end pass on its visitor's;
	// without them, those of the request are recorded.
	IP        string `json:"ip"`
	UserAgent string `json:"user_agent"`
}

func (s *Server) apiParticipationCreate(w http.ResponseWriter, r *http.Request) error {
	var req participationRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	sub := assent.Submission{Email: req.Email, FirstName: req.FirstName, LastName: req.LastName, Answers: req.Answers,
		IP: req.IP, UserAgent: req.UserAgent, Source: assent.SourceAPI, IdempotencyKey: r.Header.Get("Idempotency-Key")}
	if req.UTM != nil {
		sub.UTM = *req.UTM
	}
	if sub.IP == "" {
		sub.IP = s.clientIP(r)
	} else if net.ParseIP(sub.IP) == nil {
		return invalidField("ip", "must be an IPv4 or IPv6 address")
	}
	if sub.UserAgent == "" {
		sub.UserAgent = r.UserAgent()
	}
	if len(sub.IdempotencyKey) > 255 {
		return badRequest("the Idempotency-Key header is longer than 255 characters", nil)
	}
	if sub.IdempotencyKey != "" {
		sub.IdempotencyKey = "api:" + sub.IdempotencyKey // apart from the public form's keys
	}
	receipt, replayed, err := s.store.Participate(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"), sub)
	if err != nil {
		return err
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, http.StatusCreated, receipt)
	return nil
}

// clientIP returns the address of the client: the connection's peer, or
// with TrustProxy the first address of X-Forwarded-For.
func (s *Server) clientIP(r *http.Request) string {
	if s.trustProxy {
		if f := r.Header.Get("X-Forwarded-For"); f != "" {
			first, _, _ := strings.Cut(f, ",")
			if ip := net.ParseIP(strings.TrimSpace(first)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func invalidField(field, problem string) error {
	return &assent.Error{Code: assent.EINVALID, Message: "some fields are invalid", Fields: map[string]string{field: problem}}
}

// participantJSON adds the signed preferences link to a participant.
type participantJSON struct {
	assent.Participant
	PreferencesURL string `json:"preferences_url,omitempty"`
}

// writeParticipant answers with a participant and, unless erased, their
// preferences link; err is the lookup's error, returned as is.
func (s *Server) writeParticipant(w http.ResponseWriter, r *http.Request, p assent.Participant, err error) error {
	if err != nil {
		return err
	}
	out := participantJSON{Participant: p}
	if p.ErasedAt == nil {
		if out.PreferencesURL, err = s.PreferencesURL(r.Context(), p.AccountID, p.ID); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) apiParticipantFind(w http.ResponseWriter, r *http.Request) error {
	email := r.URL.Query().Get("email")
	if email == "" {
		return invalidField("email", "is required: GET /api/v1/participants?email=…")
	}
	p, err := s.store.ParticipantByEmail(r.Context(), principal(r.Context()).AccountID, email)
	return s.writeParticipant(w, r, p, err)
}

func (s *Server) apiParticipantGet(w http.ResponseWriter, r *http.Request) error {
	p, err := s.store.Participant(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	return s.writeParticipant(w, r, p, err)
}

func (s *Server) apiParticipantProof(w http.ResponseWriter, r *http.Request) error {
	pr, err := s.store.Proof(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, pr)
	return nil
}

func (s *Server) apiParticipantWithdraw(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		OptinID string `json:"optin_id"`
		All     bool   `json:"all"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if (req.OptinID == "") == !req.All {
		return invalidField("optin_id", `send either {"optin_id": "…"} or {"all": true}`)
	}
	var ids []string
	if req.OptinID != "" {
		ids = []string{req.OptinID}
	}
	p, err := s.store.Withdraw(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"), ids, req.All, assent.SourceAPI)
	return s.writeParticipant(w, r, p, err)
}

func (s *Server) apiParticipantErase(w http.ResponseWriter, r *http.Request) error {
	if err := s.store.Erase(r.Context(), principal(r.Context()).AccountID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) apiLedgerVerify(w http.ResponseWriter, r *http.Request) error {
	check, err := s.store.VerifyLedger(r.Context(), principal(r.Context()).AccountID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, check)
	return nil
}
