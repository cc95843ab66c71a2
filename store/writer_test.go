package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestWriterClosedAnswersAtOnce sends to a closed writer: every request is
// refused at once. Before, a send could slip into the queue after the loop
// had stopped, and wait forever.
func TestWriterClosedAnswersAtOnce(t *testing.T) {
	t.Parallel()
	s, err := Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for i := 0; i < 500; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r := s.writer.submit(ctx, &participationWrite{})
		cancel()
		if !errors.Is(r.err, errClosed) {
			t.Fatalf("submission %d to a closed writer: got %v, want errClosed", i, r.err)
		}
		ran := false
		s.writer.between(func() { ran = true })
		if !ran {
			t.Fatalf("between %d on a closed writer did not run its function", i)
		}
	}
}
