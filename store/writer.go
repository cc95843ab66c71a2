package store

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"sync"
	"time"
)

// maxBatch bounds how many participations share one commit.
const maxBatch = 256

var errClosed = errors.New("store: closed")

// writer commits participations in groups: while one commit is flushing to
// disk, the next submissions queue, and they share the following commit.
// One fsync then acknowledges many participations, which is how the write
// path gets its throughput without giving up durability.
type writer struct {
	s    *Store
	ch   chan *writeRequest
	quit chan struct{}
	done chan struct{}
	// mu guards closed. Senders hold it for reading while they queue, so
	// that once close has set closed, nothing more can be queued and the
	// loop's last drain answers every request: none waits forever.
	mu     sync.RWMutex
	closed bool
}

// enqueue queues req unless the writer is closed, or ctx ends first.
func (wr *writer) enqueue(ctx context.Context, req *writeRequest) error {
	wr.mu.RLock()
	defer wr.mu.RUnlock()
	if wr.closed {
		return errClosed
	}
	select {
	case wr.ch <- req:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

type writeRequest struct {
	ctx context.Context
	w   *participationWrite
	res chan writeResult
	// fn, when set, is work to run between two batches instead of a write.
	fn func()
}

// between runs fn in the writer's goroutine, between two batches: no write
// is in flight while it runs. It returns once fn has.
func (wr *writer) between(fn func()) {
	req := &writeRequest{fn: fn, res: make(chan writeResult, 1)}
	if err := wr.enqueue(context.Background(), req); err != nil {
		fn() // closed: there are no more writes either
		return
	}
	if r := <-req.res; r.err == errClosed {
		fn() // the writer closed before running it
	}
}

func newWriter(s *Store) *writer {
	wr := &writer{s: s, ch: make(chan *writeRequest, 4*maxBatch), quit: make(chan struct{}), done: make(chan struct{})}
	go wr.loop()
	return wr
}

// submit queues w and waits for its commit. Once queued, it waits for the
// answer even if ctx ends, since the write may already be committed.
func (wr *writer) submit(ctx context.Context, w *participationWrite) writeResult {
	req := &writeRequest{ctx: ctx, w: w, res: make(chan writeResult, 1)}
	if err := wr.enqueue(ctx, req); err != nil {
		return writeResult{err: err}
	}
	return <-req.res
}

func (wr *writer) loop() {
	defer close(wr.done)
	for {
		select {
		case <-wr.quit:
			// Answer what is still queued, so that no caller waits forever.
			for {
				select {
				case req := <-wr.ch:
					req.res <- writeResult{err: errClosed}
				default:
					return
				}
			}
		case req := <-wr.ch:
			batch := []*writeRequest{req}
		drain:
			for len(batch) < maxBatch && batch[len(batch)-1].fn == nil {
				select {
				case r := <-wr.ch:
					batch = append(batch, r)
				default:
					break drain
				}
			}
			if last := batch[len(batch)-1]; last.fn != nil {
				batch = batch[:len(batch)-1]
				wr.write(batch)
				last.fn()
				last.res <- writeResult{}
				continue
			}
			wr.write(batch)
		}
	}
}

// write commits a batch in one transaction. If the transaction fails, each
// request is retried alone, so that one bad request cannot sink the others.
func (wr *writer) write(batch []*writeRequest) {
	live := batch[:0]
	for _, req := range batch {
		if err := req.ctx.Err(); err != nil {
			req.res <- writeResult{err: err} // the caller gave up before anything was written
			continue
		}
		live = append(live, req)
	}
	if len(live) == 0 {
		return
	}
	// Accounts are locked in id order, so that two processes writing to one
	// PostgreSQL database never wait for each other in a cycle.
	sort.SliceStable(live, func(i, j int) bool { return live[i].w.account.id < live[j].w.account.id })
	ws := make([]*participationWrite, len(live))
	for i, req := range live {
		ws[i] = req.w
	}
	results, err := wr.commit(ws)
	if err != nil && len(live) > 1 {
		for _, req := range live {
			wr.write([]*writeRequest{req})
		}
		return
	}
	for i, req := range live {
		if err != nil {
			req.res <- writeResult{err: err}
			continue
		}
		// Counted before the answer goes back: a participation is in every
		// report as soon as its POST returns.
		if r := results[i]; r.err == nil && !r.replayed {
			wr.s.Stats.Add(req.w.account.id, r.fact, req.w.at)
		}
		req.res <- results[i]
	}
}

// commit records ws, sorted by account, in one transaction.
func (wr *writer) commit(ws []*participationWrite) ([]writeResult, error) {
	var results []writeResult
	ctx := context.Background()
	var ob *outbox
	var l *ledger
	var numbered map[string]span
	err := wr.s.tx(ctx, func(tx *sql.Tx) error {
		b := wr.s.newBatch(tx)
		// One read of each account's webhook endpoints per batch; the
		// numbers the batch takes, for the follower once it commits.
		ob, l, numbered = b.ob, b.l, b.numbered
		zones := map[string]*time.Location{}
		for _, w := range ws {
			// The day of a participation is taken in the account's time
			// zone as it is now, inside the transaction, not as it was when
			// the request was validated: a zone change that commits in
			// between reloads the statistics after this batch, from the
			// rows this batch writes.
			loc, ok := zones[w.account.id]
			if !ok {
				a, err := wr.s.accountInfo(ctx, tx, w.account.id)
				if err != nil {
					return err
				}
				loc, zones[w.account.id] = a.location, a.location
			}
			w.account.location = loc
		}
		var err error
		results, err = b.record(ctx, ws)
		return err
	})
	if err == nil {
		wr.s.follow.committed(numbered, l.spans()) // counted by the caller
		ob.notify()
		wr.s.prepareInserts(ctx)
	}
	return results, err
}

func (wr *writer) close() {
	wr.mu.Lock()
	if !wr.closed {
		wr.closed = true
		close(wr.quit)
	}
	wr.mu.Unlock()
	<-wr.done
}
