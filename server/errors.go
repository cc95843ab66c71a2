package server

import (
	"errors"
	"net/http"

	"github.com/assentdev/assent"
)

// httpError is an error that belongs to HTTP rather than to the domain:
// a malformed body, a missing key, an oversize request.
type httpError struct {
	status  int
	code    string
	message string
	fields  map[string]string
}

func (e *httpError) Error() string { return e.code + ": " + e.message }

// Error codes of the HTTP layer; the domain's codes live in package assent.
const (
	codeBadRequest       = "bad_request"
	codeUnauthorized     = "unauthorized"
	codeTooLarge         = "too_large"
	codeUnsupportedMedia = "unsupported_media_type"
	codeRateLimited      = "rate_limited"
	codeMethodNotAllowed = "method_not_allowed"
)

func badRequest(message string, fields map[string]string) *httpError {
	return &httpError{status: http.StatusBadRequest, code: codeBadRequest, message: message, fields: fields}
}

// domainStatus maps the codes of *assent.Error to HTTP statuses.
var domainStatus = map[string]int{
	assent.ENOTFOUND:  http.StatusNotFound,
	assent.ECONFLICT:  http.StatusConflict,
	assent.EINVALID:   http.StatusUnprocessableEntity,
	assent.EFORBIDDEN: http.StatusForbidden,
}

// errorBody is the one error shape of the API.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	Fields    map[string]string `json:"fields,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
}

// classify turns any error into its status and body. Errors that are
// neither *assent.Error nor *httpError are internal: their detail goes to
// the log, never to the client.
func classify(err error) (int, errorDetail, bool) {
	var he *httpError
	if errors.As(err, &he) {
		return he.status, errorDetail{Code: he.code, Message: he.message, Fields: he.fields}, false
	}
	var de *assent.Error
	if errors.As(err, &de) {
		if status, ok := domainStatus[de.Code]; ok {
			return status, errorDetail{Code: de.Code, Message: de.Message, Fields: de.Fields}, false
		}
	}
	return http.StatusInternalServerError, errorDetail{Code: assent.EINTERNAL,
		Message: "something went wrong on our side; the request id helps us find it"}, true
}

// writeError answers an API request with err in the JSON error shape.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, detail, internal := classify(err)
	detail.RequestID = requestID(r.Context())
	if internal {
		s.log.ErrorContext(r.Context(), "internal error", "err", err, "method", r.Method, "path", r.URL.Path,
			"request_id", detail.RequestID)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="assent"`)
	}
	writeJSON(w, status, errorBody{Error: detail})
}
