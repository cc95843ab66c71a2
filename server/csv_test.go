package server

import (
	"bytes"
	"encoding/csv"
	"math/rand/v2"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCSVWriterAsEncodingCSV checks that csvWriter writes text cells byte
// for byte as encoding/csv writes them, once a cell that a spreadsheet
// would run as a formula has its leading apostrophe, and that what it
// writes reads back as the cells.
func TestCSVWriterAsEncodingCSV(t *testing.T) {
	cells := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"a,b", "a,b"},
		{`say "hi"`, `say "hi"`},
		{"two\nlines", "two\nlines"},
		{"cr\r\nlf", "cr\r\nlf"},
		{" leading space", " leading space"},
		{"\u00a0no-break space", "\u00a0no-break space"},
		{`\.`, `\.`},
		{"=SUM(A1:A2)", "'=SUM(A1:A2)"},
		{"+33 6 12", "'+33 6 12"},
		{"-12.5", "-12.5"}, // a number stays one
		{"-", "'-"},
		{"@home", "'@home"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{`=HYPERLINK("http://x","y")`, `'=HYPERLINK("http://x","y")`},
		{"Zoë, \"Zo\" Ñ", "Zoë, \"Zo\" Ñ"},
	}
	// And random strings from an alphabet of what matters.
	r := rand.New(rand.NewPCG(7, 7))
	alphabet := []string{"a", ",", `"`, "\n", "\r", " ", "=", "-", "+", "@", "\t", "1", ".", `\`, "é"}
	for range 500 {
		var b strings.Builder
		for range r.IntN(8) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		cells = append(cells, struct{ in, want string }{b.String(), ""})
	}
	rec := httptest.NewRecorder()
	c := newCSV(rec, "test", []string{"cell", "n"})
	var want bytes.Buffer
	ref := csv.NewWriter(&want)
	ref.Write([]string{"cell", "n"})
	for i, tc := range cells {
		c.text(tc.in)
		c.int(int64(i))
		if err := c.end(); err != nil {
			t.Fatal(err)
		}
		guarded := tc.in
		if tc.want != "" {
			guarded = tc.want
		} else if guarded != "" && strings.ContainsAny(guarded[:1], "=+-@\t\r") && !isNumber(guarded) {
			guarded = "'" + guarded
		}
		ref.Write([]string{guarded, itoa(int64(i))})
	}
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	ref.Flush()
	if got := rec.Body.String(); got != want.String() {
		gl, wl := strings.Split(got, "\n"), strings.Split(want.String(), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("line %d: got %q, want %q", i, gl[i], wl[i])
			}
		}
		t.Fatalf("got %d lines, want %d", len(gl), len(wl))
	}
	rows, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
	if err != nil || len(rows) != len(cells)+1 {
		t.Fatalf("read back: %d rows (%v), want %d", len(rows), err, len(cells)+1)
	}
	for i, tc := range cells[:18] {
		// encoding/csv's reader turns \r\n inside a quoted cell into \n.
		if want := strings.ReplaceAll(tc.want, "\r\n", "\n"); rows[i+1][0] != want {
			t.Errorf("cell %q read back as %q, want %q", tc.in, rows[i+1][0], want)
		}
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// TestCSVWriterTypedCells checks the cells written without a string.
func TestCSVWriterTypedCells(t *testing.T) {
	rate := 0.125
	tests := []struct {
		name  string
		write func(c *csvWriter)
		want  string
	}{
		{"int", func(c *csvWriter) { c.int(-42) }, "-42"},
		{"float", func(c *csvWriter) { c.float(rate) }, "0.125"},
		{"whole float", func(c *csvWriter) { c.float(1) }, "1"},
		{"bool", func(c *csvWriter) { c.bool(true); c.bool(false) }, "true,false"},
		{"time", func(c *csvWriter) { c.time(time.Date(2026, 11, 26, 10, 0, 0, 123456000, time.FixedZone("x", 3600))) },
			"2026-11-26T09:00:00.123456Z"},
		{"empty first cell", func(c *csvWriter) { c.text(""); c.text("") }, ","},
		{"report row", func(c *csvWriter) {
			r := reportRow{section: "optin", id: "opt_1", name: "News, daily", counted: true}
			r.stat.Displays, r.stat.Conversions, r.stat.Rate = 8, 2, &rate
			r.write(c)
		}, `optin,,opt_1,"News, daily",,,,,8,2,0.125,`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			c := newCSV(rec, "test", []string{"h"})
			tt.write(c)
			if !strings.HasSuffix(tt.name, "row") {
				c.end()
			}
			c.close()
			if got := strings.TrimPrefix(rec.Body.String(), "h\n"); got != tt.want+"\n" {
				t.Errorf("got %q, want %q", got, tt.want+"\n")
			}
		})
	}
}
