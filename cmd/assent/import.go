package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
)

// importRecord is one line of an NDJSON import file.
type importRecord struct {
	CampaignID string           `json:"campaign_id"`
	CreatedAt  string           `json:"created_at"`
	Email      string           `json:"email"`
	FirstName  string           `json:"first_name"`
	LastName   string           `json:"last_name"`
	Answers    map[string]*bool `json:"answers"`
	UTM        *assent.UTM      `json:"utm"`
	IP         string           `json:"ip"`
	UserAgent  string           `json:"user_agent"`
	Confirmed  []string         `json:"confirmed"`
}

// maxImportLine is the longest line an import reads.
const maxImportLine = 1 << 20

// maxImportProblems is how many refused lines an import lists.
const maxImportProblems = 50

// defaultImportBatch and defaultImportCache are an import's transaction
// size and its SQLite page cache. A large transaction writes each index
// page it changes once for many participations, and a cache that holds
// what it changes keeps SQLite from writing pages to the WAL before the
// commit and reading them back. Measured importing the benchmark's 1M
// participations into an empty SQLite database (assent-bench's data), one
// run each minutes apart: 5,000 and 64 MiB gave 4,521/s (VmHWM 0.28 GB),
// 5,000 and 256 MiB 5,538/s (0.72 GB), 20,000 and 256 MiB 6,499/s
// (1.07 GB); the first and the last run back to back later, on a busier
// machine, 4,344/s and 5,169/s.
const (
	defaultImportBatch = 20000
	defaultImportCache = 256
)

func (e env) importParticipations(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	dsn := fs.String("db", defaultDB, "database")
	account := fs.String("account", assent.DefaultAccountName, "account name or id")
	file := fs.String("file", "", "NDJSON file of participations, or - for standard input")
	batchSize := fs.Int("batch", defaultImportBatch, "participations per transaction")
	cacheMiB := fs.Int("cache", defaultImportCache, "page cache of the connection that writes, in MiB (SQLite)")
	confirmTTL := fs.Duration("confirmation-ttl", store.DefaultConfirmationTTL,
		"how long an imported double opt-in waits for confirmation (as serve's)")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return usageError{"import needs -file (a path, or - for standard input)"}
	}
	if *batchSize < 1 || *batchSize > 100000 {
		return usageError{"-batch must be between 1 and 100000"}
	}
	if *confirmTTL <= 0 {
		return usageError{"-confirmation-ttl must be positive"}
	}
	if *cacheMiB < 1 || *cacheMiB > 65536 {
		return usageError{"-cache must be between 1 and 65536 (MiB)"}
	}
	path := *file
	if path == "-" {
		// The file is read twice (checked whole, then written), so standard
		// input is kept in a temporary file first.
		tmp, err := spool(e.stdin)
		if err != nil {
			return err
		}
		defer os.Remove(tmp)
		path = tmp
	}
	st, a, err := e.openAccount(ctx, *dsn, *account)
	if err != nil {
		return err
	}
	defer st.Close()
	st.ConfirmationTTL = *confirmTTL
	if err := st.SetWriterCache(ctx, *cacheMiB); err != nil {
		return err
	}
	// This process reports nothing: a running serve counts what it
	// imports (catching up), or counts it when it starts.
	st.Stats = nil
	im, err := st.NewImporter(ctx, a.ID)
	if err != nil {
		return err
	}

	// First every line is checked, so that a file with a mistake imports
	// nothing: fixed, it can be imported again without duplicates.
	start := time.Now()
	lines, refused := 0, 0
	err = readImport(ctx, path, im, func(n int, _ *store.ImportLine, lineErr error) error {
		lines = n
		if lineErr != nil {
			refused++
			if refused <= maxImportProblems {
				fmt.Fprintf(e.stderr, "line %d: %s\n", n, lineProblem(lineErr))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if refused > 0 {
		if refused > maxImportProblems {
			fmt.Fprintf(e.stderr, "… and %d more\n", refused-maxImportProblems)
		}
		return fmt.Errorf("%d of %d lines refused; nothing imported", refused, lines)
	}
	checked := time.Since(start)

	// Then they are written in batches, each one transaction; the next
	// batch is read while one is written.
	batches := make(chan []store.ImportLine, 1)
	readErr := make(chan error, 1)
	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(batches)
		batch := make([]store.ImportLine, 0, *batchSize)
		readErr <- readImport(readCtx, path, im, func(_ int, line *store.ImportLine, lineErr error) error {
			if lineErr != nil {
				return fmt.Errorf("the file changed while it was imported: %w", lineErr)
			}
			batch = append(batch, *line)
			if len(batch) == *batchSize {
				select {
				case batches <- batch:
				case <-readCtx.Done():
					return readCtx.Err()
				}
				batch = make([]store.ImportLine, 0, *batchSize)
			}
			return nil
		})
		if len(batch) > 0 {
			batches <- batch
		}
	}()
	written := 0
	for batch := range batches {
		if err := im.Write(ctx, batch); err != nil {
			cancel()
			for range batches {
			}
			return fmt.Errorf("import stopped after %d participations (lines 1 to %d are imported): %w", written, written, err)
		}
		written += len(batch)
	}
	if err := <-readErr; err != nil {
		return fmt.Errorf("import stopped after %d participations (lines 1 to %d are imported): %w", written, written, err)
	}
	if err := im.Finish(ctx); err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Fprintf(e.stdout, "imported %d participations into %s in %s (checked in %s; %.0f per second)\n",
		written, a.Name, took.Round(time.Millisecond), checked.Round(time.Millisecond), float64(written)/took.Seconds())
	return nil
}

// readImport reads the NDJSON file at path, checks each line with im and
// calls fn with its number (from 1), the line, and the reason it is
// refused. Blank lines are skipped. The lines are decoded on several
// goroutines (decoding is most of the time of the check pass); Check and
// fn see them one at a time, in order.
func readImport(ctx context.Context, path string, im *store.Importer, fn func(int, *store.ImportLine, error) error) error {
	return decodeImport(ctx, path, runtime.GOMAXPROCS(0), func(n int, line *store.ImportLine, lineErr error) error {
		if lineErr == nil {
			lineErr = im.Check(ctx, line)
			if lineErr != nil && assent.ErrorCode(lineErr) != assent.EINVALID {
				return lineErr // the database, not the line
			}
		}
		return fn(n, line, lineErr)
	})
}

// importChunk is a run of consecutive lines of an import file, decoded
// together by one of decodeImport's workers.
type importChunk struct {
	nums    []int  // each line's number in the file
	ends    []int  // where each line ends in buf
	buf     []byte // the lines, one after the other
	lines   []*store.ImportLine
	errs    []error
	decoded chan struct{} // closed once lines and errs are set
}

func newImportChunk() *importChunk { return &importChunk{decoded: make(chan struct{})} }

// decode decodes every line of the chunk.
func (c *importChunk) decode() {
	c.lines, c.errs = make([]*store.ImportLine, len(c.nums)), make([]error, len(c.nums))
	start := 0
	for i, end := range c.ends {
		c.lines[i], c.errs[i] = decodeImportLine(c.buf[start:end])
		start = end
	}
	close(c.decoded)
}

// importChunkLines is how many lines make a chunk: enough that handing
// chunks between goroutines costs nothing next to decoding them.
const importChunkLines = 256

// decodeImport reads the NDJSON file at path and calls fn, in the file's
// order, with each non-blank line's number, the line decoded, and the
// reason it does not decode. The lines are decoded by workers goroutines,
// a few chunks ahead of fn; fn runs in the calling goroutine. It stops at
// the first error of fn, of reading, or of ctx.
func decodeImport(ctx context.Context, path string, workers int, fn func(int, *store.ImportLine, error) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	readCtx, stop := context.WithCancel(ctx)
	defer stop()
	ordered := make(chan *importChunk, 2*workers) // the chunks in the file's order, for fn
	todo := make(chan *importChunk, 2*workers)    // the same chunks, for the workers
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for c := range todo {
				c.decode()
			}
		})
	}
	readErr := make(chan error, 1)
	go func() {
		defer close(ordered)
		defer close(todo)
		readErr <- splitImport(f, func(c *importChunk) bool {
			if readCtx.Err() != nil {
				return false // select would pick at random once ordered has room again
			}
			select {
			case ordered <- c:
			case <-readCtx.Done():
				return false
			}
			todo <- c // every chunk of ordered is decoded: fn may wait for it
			return true
		})
	}()
	err = func() error {
		for c := range ordered {
			if err := ctx.Err(); err != nil {
				return err
			}
			select {
			case <-c.decoded:
			case <-ctx.Done():
				return ctx.Err()
			}
			for i, n := range c.nums {
				if err := fn(n, c.lines[i], c.errs[i]); err != nil {
					return err
				}
			}
		}
		return ctx.Err()
	}()
	stop() // the reader stops at its next chunk
	for range ordered {
	}
	wg.Wait()
	if rerr := <-readErr; err == nil {
		err = rerr
	}
	return err
}

// splitImport reads r line by line and hands its non-blank lines to send
// in chunks, until send returns false. It returns the reading error, or a
// line too long, after sending the lines before it.
func splitImport(r io.Reader, send func(*importChunk) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxImportLine)
	n := 0
	c := newImportChunk()
	flush := func() bool {
		if len(c.nums) == 0 {
			return true
		}
		ok := send(c)
		c = newImportChunk()
		return ok
	}
	for sc.Scan() {
		n++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		c.buf = append(c.buf, raw...)
		c.nums, c.ends = append(c.nums, n), append(c.ends, len(c.buf))
		if len(c.nums) == importChunkLines && !flush() {
			return nil
		}
	}
	if !flush() {
		return nil
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return fmt.Errorf("line %d is longer than %d bytes", n+1, maxImportLine)
	}
	return sc.Err()
}

// decodeImportLine turns one line into an ImportLine; a line that does
// not decode is refused with an EINVALID error naming the field.
func decodeImportLine(raw []byte) (*store.ImportLine, error) {
	var rec importRecord
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return nil, assent.Errorf(assent.EINVALID, "not a participation object: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if dec.More() {
		return nil, assent.Errorf(assent.EINVALID, "more than one JSON value on the line")
	}
	p := assent.Problems{}
	at, err := time.Parse(time.RFC3339Nano, rec.CreatedAt)
	if rec.CreatedAt != "" && err != nil {
		p.Add("created_at", "must be an RFC 3339 time, such as 2026-03-01T10:00:00Z")
	}
	if rec.IP != "" && net.ParseIP(rec.IP) == nil {
		p.Add("ip", "must be an IPv4 or IPv6 address")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	line := &store.ImportLine{CampaignID: rec.CampaignID, CreatedAt: at, Confirmed: rec.Confirmed,
		Submission: assent.Submission{Email: rec.Email, FirstName: rec.FirstName, LastName: rec.LastName,
			Answers: rec.Answers, IP: rec.IP, UserAgent: rec.UserAgent}}
	if rec.UTM != nil {
		line.Submission.UTM = *rec.UTM
	}
	return line, nil
}

// lineProblem spells out why a line is refused, one field after another.
func lineProblem(err error) string {
	var de *assent.Error
	if !errors.As(err, &de) || len(de.Fields) == 0 {
		if de != nil {
			return de.Message
		}
		return err.Error()
	}
	fields := make([]string, 0, len(de.Fields))
	for f := range de.Fields {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = f + ": " + de.Fields[f]
	}
	return strings.Join(parts, "; ")
}

// spool copies r into a temporary file and returns its path.
func spool(r io.Reader) (string, error) {
	f, err := os.CreateTemp("", "assent-import-*.ndjson")
	if err != nil {
		return "", err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}
