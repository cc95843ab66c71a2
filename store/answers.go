package store

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/assentdev/assent"
)

// A participation's form and answers are stored in its own row, in the
// column answers: one item per opt-in of the form, in the form's order,
// separated by commas. An item is the response as one character (1
// accepted, 0 refused, - an optional radio left blank), whether the
// acceptance is confirmed (1 or 0: a single opt-in, or a double opt-in
// given already or confirmed later), the version of the opt-in's text
// shown, a colon, and the opt-in's id. Opt-in ids are NewID's, which hold
// no comma. "11:opt_a,03:opt_b" is a form of two opt-ins: the first, at its
// version 1, accepted; the second, at version 3, refused.
//
// One row instead of a row per opt-in: the write path inserts a fifth of
// the rows, and every reader (statistics, exports, proof) reads the
// participation alone.

// answer is one item of a participation's answers.
type answer struct {
	optin               string
	version             int
	blank               bool // an optional radio left blank
	accepted, confirmed bool
}

// appendAnswer appends the item of one answer to a list of answers.
func appendAnswer(list []byte, a answer) []byte {
	if len(list) > 0 {
		list = append(list, ',')
	}
	switch {
	case a.blank:
		list = append(list, '-')
	case a.accepted:
		list = append(list, '1')
	default:
		list = append(list, '0')
	}
	if a.confirmed {
		list = append(list, '1')
	} else {
		list = append(list, '0')
	}
	list = strconv.AppendInt(list, int64(a.version), 10)
	list = append(list, ':')
	return append(list, a.optin...)
}

// encodeAnswers returns the stored form of answers.
func encodeAnswers(answers []answer) string {
	var list []byte
	for _, a := range answers {
		list = appendAnswer(list, a)
	}
	return string(list)
}

// parseAnswers appends to buf the answers of a stored list, in the form's
// order.
func parseAnswers(buf []answer, list string) ([]answer, error) {
	for list != "" {
		item, rest, _ := strings.Cut(list, ",")
		list = rest
		head, optin, ok := strings.Cut(item, ":")
		if !ok || len(head) < 3 || optin == "" || !strings.ContainsRune("01-", rune(head[0])) ||
			!strings.ContainsRune("01", rune(head[1])) {
			return buf, fmt.Errorf("malformed answer %q", item)
		}
		v, err := strconv.Atoi(head[2:])
		if err != nil {
			return buf, fmt.Errorf("malformed answer %q", item)
		}
		buf = append(buf, answer{optin: optin, version: v, blank: head[0] == '-', accepted: head[0] == '1',
			confirmed: head[1] == '1'})
	}
	return buf, nil
}

// formAnswers turns a stored list into what the API shows of a
// participation's form.
func formAnswers(list string) ([]assent.FormAnswer, error) {
	var buf [16]answer
	answers, err := parseAnswers(buf[:0], list)
	if err != nil {
		return nil, err
	}
	out := make([]assent.FormAnswer, len(answers))
	for i, a := range answers {
		out[i] = assent.FormAnswer{OptinID: a.optin, OptinVersion: a.version, Position: i}
		if !a.blank {
			out[i].Response = &a.accepted
		}
	}
	return out, nil
}
