package store

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// checkpointInterval is how often the checkpointer copies what the WAL
// holds into the SQLite database file while writes go on. Each round ends
// with a sync of the database file, which slows the commits syncing the
// WAL meanwhile: measured at 100k participations (64-connection ingest),
// rounds every 60 ms, 250 ms and 1 s gave 2,790/s p99 54 ms, 2,930/s p99
// 62 ms and 3,179/s p99 88 ms, against 2,282–2,437/s p99 43–45 ms with
// SQLite's checkpoints inside the commits.
const checkpointInterval = 60 * time.Millisecond

// restartFrames is the size of the WAL, in pages, past which the
// checkpointer has it written from its start again: 16 MiB. A larger WAL
// holds the writer up less often but longer: at 100k participations, 4 MiB,
// 16 MiB and 64 MiB gave 2,826–2,834/s p99 49 ms, 2,991–3,058/s p99
// 51–54 ms and 3,106–3,108/s p99 58–64 ms (two runs each).
const restartFrames = 4096

// finishFrames is how many pages the writer may be left to copy, at most,
// when the checkpointer's passes on its own connection keep up.
const finishFrames = 128

// checkpointer runs SQLite's checkpoints outside the commits. Left to
// SQLite, a checkpoint runs inside the commit that fills the WAL past
// 1,000 pages: on the one writer connection, copying pages and syncing the
// database file while every participation of the next batch waits (a
// tenth of the ingest's time). The writer connection has automatic
// checkpoints off; instead, every checkpointInterval:
//
//  1. a reader connection checkpoints PASSIVE: it copies the pages the WAL
//     holds while the writer goes on (it never waits for the writer or
//     the readers, nor holds them up);
//  2. once the WAL holds more than restartFrames pages, the reader
//     connection checkpoints again, up to three times, while the writer
//     committed more than finishFrames pages meanwhile; then the writer
//     connection, between two batches, checkpoints PASSIVE once more: only
//     the pages committed meanwhile are left to copy. With the WAL then
//     wholly copied, the next transaction writes the WAL from its start
//     again. Without this step the WAL never is wholly copied while
//     commits follow each other, and grows without end (2.9 GB in a
//     minute of ingest, every page appended to a growing file). It holds
//     the writer up for a moment, so it runs only that often.
type checkpointer struct {
	passive func() (frames, left int) // step 1: the WAL's pages, those left to copy
	finish  func()                    // step 2, on the writer
	// restart is restartFrames; tests lower it.
	restart atomic.Int64
	// mu keeps rounds apart: a test's and the ticker's, so that neither
	// finds the other's checkpoint in the way.
	mu   sync.Mutex
	quit chan struct{}
	done chan struct{}
	stop sync.Once
}

// newCheckpointer starts checkpointing the database s: it must be on
// SQLite, with its writer running.
func newCheckpointer(s *Store) *checkpointer {
	ctx := context.Background()
	checkpoint := func(db *sql.DB) (frames, left int) {
		// An error (the database busy, say) leaves the pages in the WAL,
		// where readers find them, for the next round.
		var busy, copied int
		if err := db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil ||
			frames < 0 {
			return 0, 0 // an error, or the checkpoint could not run (-1)
		}
		return frames, frames - copied
	}
	c := &checkpointer{
		passive: func() (int, int) { return checkpoint(s.rdb) },
		finish:  func() { s.writer.between(func() { checkpoint(s.db) }) },
		quit:    make(chan struct{}), done: make(chan struct{})}
	c.restart.Store(restartFrames)
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
		}
		_ = c.round()
	}
}

// round is one round of checkpoints. It returns how many pages the WAL
// held when it began.
func (c *checkpointer) round() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	frames, left := c.passive()
	if int64(frames) < c.restart.Load() {
		return frames
	}
	for i := 0; i < 3 && left > finishFrames; i++ {
		_, left = c.passive()
	}
	c.finish()
	return frames
}

// close stops the checkpointer; it may be called more than once. Closing
// the last connection then checkpoints what is left.
func (c *checkpointer) close() {
	c.stop.Do(func() { close(c.quit) })
	<-c.done
}
