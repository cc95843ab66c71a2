package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// maxBody is the largest request body the API reads.
const maxBody = 1 << 20

// decode reads the JSON body of r into v. It refuses bodies that are not
// JSON (415), larger than maxBody (413), malformed, of the wrong types, with
// fields v does not have, or followed by more data (400); each error names
// the field or the place at fault.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return &httpError{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMedia,
			message: "send the body as JSON with Content-Type: application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &httpError{status: http.StatusRequestEntityTooLarge, code: codeTooLarge,
				message: fmt.Sprintf("the body is larger than %d bytes", maxBody)}
		}
		return badRequest("could not read the body", nil)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("the body is empty; send a JSON object", nil)
	}
	// Decoding null into a struct succeeds and sets nothing, which would
	// make a PATCH of null a silent no-op; it is not an object, so refuse it.
	if string(bytes.TrimSpace(body)) == "null" {
		return badRequest("the body must be a JSON object, not null", nil)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return badRequest("the body holds more than one JSON value", nil)
	}
	return nil
}

// decodeOptional is decode for actions whose body may be left out: no
// body at all leaves v as it is; a body must be valid, as for decode.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		return nil
	}
	return decode(w, r, v)
}

// decodeError explains a json.Decoder error in the user's terms.
func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var field *fieldError
	switch {
	case errors.As(err, &syntax):
		return badRequest(fmt.Sprintf("malformed JSON at byte %d: %s", syntax.Offset, syntax.Error()), nil)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: the body ends too early", nil)
	case errors.As(err, &typ):
		name := typ.Field
		if name == "" {
			return badRequest(fmt.Sprintf("the body must be a JSON object, not %s", typ.Value), nil)
		}
		problem := "must be " + jsonKind(typ.Type.Kind().String())
		return badRequest(fmt.Sprintf("field %s %s, not %s", name, problem, typ.Value), map[string]string{name: problem})
	case errors.As(err, &field):
		return badRequest(fmt.Sprintf("field %s %s", field.name, field.problem), map[string]string{field.name: field.problem})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return badRequest(fmt.Sprintf("unknown field %q", name), map[string]string{name: "is not a known field"})
	}
	return badRequest("malformed JSON: "+err.Error(), nil)
}

// jsonKind names a Go kind as the JSON type a client must send.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "int", "int64", "int32", "float64":
		return "a number"
	}
	return "of another type"
}

// fieldError is returned by the UnmarshalJSON methods of request types that
// know the field they decode.
type fieldError struct{ name, problem string }

func (e *fieldError) Error() string { return e.name + " " + e.problem }

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// list is the shape of every list answer.
type list[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func newList[T any](data []T, next string) list[T] {
	if data == nil {
		data = []T{}
	}
	l := list[T]{Data: data}
	if next != "" {
		l.NextCursor = &next
	}
	return l
}

// nullable is a request field that tells apart absent, null and a value,
// for PATCH bodies where null clears a field.
type nullable[T any] struct {
	Set   bool // the field was in the body
	Null  bool // and it was null
	Value T
}

// UnmarshalJSON records that the field was present.
func (n *nullable[T]) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Null = true
		return nil
	}
	return json.Unmarshal(b, &n.Value)
}
