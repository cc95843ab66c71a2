package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assentdev/assent/store"
)

// TestDecodeImportKeepsTheOrder decodes files of many chunks on one and on
// several goroutines: fn sees every non-blank line once, in the file's
// order, with its number in the file and, for a line that does not decode,
// the reason; an error of fn stops the reading, and so do a line too long
// and a context that ends.
func TestDecodeImportKeepsTheOrder(t *testing.T) {
	t.Parallel()
	const lines = 3*importChunkLines + 17
	var b strings.Builder
	type want struct {
		n     int
		email string // "" for a line that does not decode
	}
	var wants []want
	n := 0
	for i := range lines {
		n++
		switch {
		case i%97 == 13:
			b.WriteString("  \n") // blank: skipped, but counted
			continue
		case i%101 == 7:
			b.WriteString(`{"email": "x@example.com", "colour": "red"}` + "\n")
			wants = append(wants, want{n, ""})
			continue
		}
		email := fmt.Sprintf("p%d@example.com", i)
		fmt.Fprintf(&b, `{"campaign_id":"cmp_1","created_at":"2026-03-01T10:00:00Z","email":%q}`+"\n", email)
		wants = append(wants, want{n, email})
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "past.ndjson")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, workers := range []int{1, 2, 7} {
		t.Run(fmt.Sprint(workers, " workers"), func(t *testing.T) {
			var got []want
			err := decodeImport(context.Background(), path, workers, func(n int, line *store.ImportLine, err error) error {
				switch {
				case err == nil && line != nil:
					got = append(got, want{n, line.Submission.Email})
				case err != nil && line == nil && strings.Contains(err.Error(), `unknown field "colour"`):
					got = append(got, want{n, ""})
				default:
					t.Fatalf("line %d: got %+v, %v", n, line, err)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(wants) {
				t.Fatalf("got %d lines, want %d", len(got), len(wants))
			}
			for i := range wants {
				if got[i] != wants[i] {
					t.Fatalf("call %d: got %+v, want %+v", i, got[i], wants[i])
				}
			}
		})
	}

	t.Run("fn stops it", func(t *testing.T) {
		stop := errors.New("enough")
		calls := 0
		err := decodeImport(context.Background(), path, 2, func(n int, _ *store.ImportLine, _ error) error {
			calls++
			if n >= 2*importChunkLines {
				return stop
			}
			return nil
		})
		if err != stop {
			t.Errorf("got %v, want fn's error", err)
		}
		if last := calls - 1; wants[last].n < 2*importChunkLines || wants[last-1].n >= 2*importChunkLines {
			t.Errorf("fn was called %d times, after it returned its error", calls)
		}
	})

	t.Run("line too long", func(t *testing.T) {
		long := filepath.Join(dir, "long.ndjson")
		body := b.String() + strings.Repeat("x", maxImportLine+1) + "\n" + `{"email":"after@example.com"}` + "\n"
		if err := os.WriteFile(long, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		calls := 0
		err := decodeImport(context.Background(), long, 2, func(int, *store.ImportLine, error) error {
			calls++
			return nil
		})
		if want := fmt.Sprintf("line %d is longer than %d bytes", lines+1, maxImportLine); err == nil || err.Error() != want {
			t.Errorf("got %v, want %q", err, want)
		}
		if calls != len(wants) {
			t.Errorf("fn saw %d lines before the long one, want %d", calls, len(wants))
		}
	})

	t.Run("context ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		err := decodeImport(ctx, path, 2, func(int, *store.ImportLine, error) error {
			if calls++; calls == 10 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		if calls >= len(wants) {
			t.Errorf("fn saw all %d lines after the context ended", calls)
		}
	})

	t.Run("no file", func(t *testing.T) {
		err := decodeImport(context.Background(), filepath.Join(dir, "none.ndjson"), 2,
			func(int, *store.ImportLine, error) error { return nil })
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("got %v, want a missing file", err)
		}
	})
}
