package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
	_ "modernc.org/sqlite"             // the "sqlite" driver
)

// The plain baseline of SPEC §11: the straightforward design that Assent
// must beat. One table per noun, one transaction per participation, and
// every statistic computed by GROUP BY and COUNT(DISTINCT) over the raw
// rows. It runs on the same engine and the same NDJSON as Assent.

// plainSchema is portable DDL: ids are made in Go, responses are 0 or 1.
var plainSchema = []string{
	`CREATE TABLE campaigns (id TEXT PRIMARY KEY, name TEXT NOT NULL, language TEXT NOT NULL)`,
	`CREATE TABLE optins (id TEXT PRIMARY KEY, name TEXT NOT NULL, language TEXT NOT NULL,
		category TEXT NOT NULL, subcategory TEXT NOT NULL)`,
	`CREATE TABLE participants (id BIGINT PRIMARY KEY, email TEXT NOT NULL UNIQUE, first_name TEXT,
		last_name TEXT, created_at BIGINT NOT NULL)`,
	`CREATE TABLE participations (id BIGINT PRIMARY KEY, campaign_id TEXT NOT NULL, participant_id BIGINT NOT NULL,
		created_at BIGINT NOT NULL, day TEXT NOT NULL, utm_source TEXT, utm_medium TEXT, utm_campaign TEXT,
		ip TEXT, user_agent TEXT)`,
	`CREATE TABLE participation_answers (participation_id BIGINT NOT NULL, optin_id TEXT NOT NULL,
		response INTEGER NOT NULL, PRIMARY KEY (participation_id, optin_id))`,
}

// plainIndexes are created after the bulk load: what a plain design would
// index for its reports.
var plainIndexes = []string{
	`CREATE INDEX participations_campaign ON participations (campaign_id, created_at)`,
	`CREATE INDEX participations_created ON participations (created_at)`,
	`CREATE INDEX participations_participant ON participations (participant_id, created_at)`,
	`CREATE INDEX participants_created ON participants (created_at)`,
	`CREATE INDEX answers_optin ON participation_answers (optin_id)`,
}

// plainDB is the baseline's database.
type plainDB struct {
	engine string
	w      *sql.DB // writes: one connection on SQLite, a pool on PostgreSQL
	r      *sql.DB // reads
	dsn    string  // PostgreSQL URL, for COPY
	loc    *time.Location
	nextID [2]atomic.Int64 // next participant and participation id
}

func (p *plainDB) close() {
	p.w.Close()
	if p.r != p.w {
		p.r.Close()
	}
}

// plainLoad creates the plain database and loads the NDJSON into it.
func (b *bench) plainLoad(ctx context.Context) (*plainDB, error) {
	loc, err := time.LoadLocation("Europe/Brussels")
	if err != nil {
		return nil, err
	}
	p := &plainDB{engine: b.cfg.engine, loc: loc}
	switch b.cfg.engine {
	case "sqlite":
		path := filepath.Join(b.cfg.dir, "plain.db")
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
		opts := "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)"
		if p.w, err = sql.Open("sqlite", "file:"+path+opts+"&_txlock=immediate"); err != nil {
			return nil, err
		}
		p.w.SetMaxOpenConns(1) // SQLite has one writer: queue in Go, not on the lock
		if p.r, err = sql.Open("sqlite", "file:"+path+opts); err != nil {
			return nil, err
		}
		p.r.SetMaxOpenConns(4)
	case "postgres":
		if p.dsn, err = recreatePostgres(ctx, b.cfg.postgres, "assent_bench_plain"); err != nil {
			return nil, err
		}
		if p.w, err = sql.Open("pgx", p.dsn); err != nil {
			return nil, err
		}
		p.w.SetMaxOpenConns(b.cfg.workers + 8)
		p.w.SetMaxIdleConns(b.cfg.workers + 8)
		p.r = p.w
	}
	for _, q := range plainSchema {
		if _, err := p.w.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	for _, c := range b.content.Campaigns {
		if _, err := p.w.ExecContext(ctx, `INSERT INTO campaigns (id, name, language) VALUES ($1, $2, $3)`,
			c.ID, c.Name, c.Language); err != nil {
			return nil, err
		}
	}
	for _, o := range b.content.Optins {
		if _, err := p.w.ExecContext(ctx, `INSERT INTO optins (id, name, language, category, subcategory)
			VALUES ($1, $2, $3, $4, $5)`, o.ID, o.Name, o.Language, o.Category, o.Subcategory); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	n, err := p.bulkLoad(ctx, b.ndjson)
	if err != nil {
		return nil, err
	}
	b.logf("plain: loaded %d participations in %s; indexing", n, time.Since(start).Round(time.Millisecond))
	for _, q := range plainIndexes {
		if _, err := p.w.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	if _, err := p.w.ExecContext(ctx, `ANALYZE`); err != nil {
		return nil, err
	}
	return p, nil
}

// rowSink takes rows of one table and writes them in big batches.
type rowSink interface {
	add(table string, row []any) error
	flush() error
}

// bulkLoad reads the NDJSON and writes participants, participations and
// answers in big batches: multi-row inserts in large transactions on
// SQLite, COPY on PostgreSQL. It is setup, not a measure.
func (p *plainDB) bulkLoad(ctx context.Context, path string) (int, error) {
	var sink rowSink
	switch p.engine {
	case "sqlite":
		// Durability does not matter while loading.
		if _, err := p.w.ExecContext(ctx, `PRAGMA synchronous = OFF`); err != nil {
			return 0, err
		}
		defer p.w.ExecContext(ctx, `PRAGMA synchronous = FULL`)
		sink = &sqliteSink{ctx: ctx, db: p.w, rows: map[string][][]any{}}
	case "postgres":
		conn, err := pgx.Connect(ctx, p.dsn)
		if err != nil {
			return 0, err
		}
		defer conn.Close(ctx)
		sink = &copySink{ctx: ctx, conn: conn, rows: map[string][][]any{}}
	}
	f, err := openFile(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	participants := map[string]int64{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return n, fmt.Errorf("line %d: %w", n+1, err)
		}
		t, err := time.Parse(time.RFC3339Nano, rec.CreatedAt)
		if err != nil {
			return n, fmt.Errorf("line %d: %w", n+1, err)
		}
		micros := t.UnixMicro()
		pid, ok := participants[rec.Email]
		if !ok {
			pid = int64(len(participants) + 1)
			participants[rec.Email] = pid
			if err := sink.add("participants", []any{pid, rec.Email, rec.FirstName, rec.LastName, micros}); err != nil {
				return n, err
			}
		}
		n++
		id := int64(n)
		if err := sink.add("participations", []any{id, rec.CampaignID, pid, micros, t.In(p.loc).Format(time.DateOnly),
			rec.UTM.Source, rec.UTM.Medium, rec.UTM.Campaign, rec.IP, rec.UserAgent}); err != nil {
			return n, err
		}
		for optin, yes := range rec.Answers {
			if err := sink.add("participation_answers", []any{id, optin, b2i(yes)}); err != nil {
				return n, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return n, err
	}
	p.nextID[0].Store(int64(len(participants)) + 1)
	p.nextID[1].Store(int64(n) + 1)
	return n, sink.flush()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// plainColumns are the columns the bulk load fills, per table.
var plainColumns = map[string][]string{
	"participants":          {"id", "email", "first_name", "last_name", "created_at"},
	"participations":        {"id", "campaign_id", "participant_id", "created_at", "day", "utm_source", "utm_medium", "utm_campaign", "ip", "user_agent"},
	"participation_answers": {"participation_id", "optin_id", "response"},
}

// plainTables is the order in which sinks flush (participants first).
var plainTables = []string{"participants", "participations", "participation_answers"}

// sqliteSink writes 500-row INSERTs, 200,000 rows to a transaction.
type sqliteSink struct {
	ctx     context.Context
	db      *sql.DB
	rows    map[string][][]any
	pending int
}

func (s *sqliteSink) add(table string, row []any) error {
	s.rows[table] = append(s.rows[table], row)
	if s.pending++; s.pending >= 200_000 {
		return s.flush()
	}
	return nil
}

func (s *sqliteSink) flush() error {
	tx, err := s.db.BeginTx(s.ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, table := range plainTables {
		rows := s.rows[table]
		for len(rows) > 0 {
			k := min(len(rows), 500)
			q, args := multiInsert(table, plainColumns[table], rows[:k])
			if _, err := tx.ExecContext(s.ctx, qmarks(q), args...); err != nil {
				return fmt.Errorf("plain: insert into %s: %w", table, err)
			}
			rows = rows[k:]
		}
		s.rows[table] = s.rows[table][:0]
	}
	s.pending = 0
	return tx.Commit()
}

// multiInsert returns one INSERT of rows with $n placeholders.
func multiInsert(table string, cols []string, rows [][]any) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, len(rows)*len(cols))
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", table, strings.Join(cols, ", "))
	for i, row := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", len(args)+j+1)
		}
		b.WriteByte(')')
		args = append(args, row...)
	}
	return b.String(), args
}

// copySink writes with COPY, 100,000 rows at a time.
type copySink struct {
	ctx     context.Context
	conn    *pgx.Conn
	rows    map[string][][]any
	pending int
}

func (s *copySink) add(table string, row []any) error {
	s.rows[table] = append(s.rows[table], row)
	if s.pending++; s.pending >= 100_000 {
		return s.flush()
	}
	return nil
}

func (s *copySink) flush() error {
	for _, table := range plainTables {
		rows := s.rows[table]
		if len(rows) == 0 {
			continue
		}
		if _, err := s.conn.CopyFrom(s.ctx, pgx.Identifier{table}, plainColumns[table], pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("plain: copy into %s: %w", table, err)
		}
		s.rows[table] = rows[:0]
	}
	s.pending = 0
	return nil
}

// ingest runs the plain write path: one durable transaction per
// participation (the participant if new, the participation, its answers).
func (p *plainDB) ingest(ctx context.Context, workers int, d time.Duration, seed uint64, work ingestWork) ingestResult {
	return runIngest(ctx, workers, d, seed, work, p.participate)
}

func (p *plainDB) participate(ctx context.Context, rec Record) error {
	now := time.Now()
	tx, err := p.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO participants (id, email, first_name, last_name, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email) DO NOTHING`,
		p.nextID[0].Add(1), rec.Email, rec.FirstName, rec.LastName, now.UnixMicro()); err != nil {
		return err
	}
	var pid int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM participants WHERE email = $1`, rec.Email).Scan(&pid); err != nil {
		return err
	}
	id := p.nextID[1].Add(1)
	if _, err := tx.ExecContext(ctx, `INSERT INTO participations (id, campaign_id, participant_id, created_at, day,
		utm_source, utm_medium, utm_campaign, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		id, rec.CampaignID, pid, now.UnixMicro(), now.In(p.loc).Format(time.DateOnly), rec.UTM.Source, rec.UTM.Medium,
		rec.UTM.Campaign, rec.IP, rec.UserAgent); err != nil {
		return err
	}
	rows := make([][]any, 0, len(rec.Answers))
	for optin, yes := range rec.Answers {
		rows = append(rows, []any{id, optin, b2i(yes)})
	}
	q, args := multiInsert("participation_answers", plainColumns["participation_answers"], rows)
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return err
	}
	return tx.Commit()
}

// plainQuery is one SQL statement of a plain report; its arguments are
// the period's bounds in microseconds ($1, $2) and then extra.
type plainQuery struct {
	sql   string
	extra []any
}

// plainReport is one report of the plain design: several statements, run
// one after the other, over the last days days.
type plainReport struct {
	kind    string
	days    int
	queries []plainQuery
}

// The statements of the reports. $1 and $2 bound created_at.
const (
	joinAnswers = ` FROM participations p JOIN participation_answers a ON a.participation_id = p.id
		JOIN optins o ON o.id = a.optin_id WHERE p.created_at >= $1 AND p.created_at < $2`
	distinctConv = `COUNT(DISTINCT p.id), COUNT(DISTINCT CASE WHEN a.response = 1 THEN p.id END)`
)

// campaignReportSQL is the dashboard of campaign $3.
func campaignReportSQL(id string) []plainQuery {
	c := []any{id}
	return []plainQuery{
		{`SELECT COUNT(*), COUNT(DISTINCT participant_id) FROM participations
			WHERE created_at >= $1 AND created_at < $2 AND campaign_id = $3`, c},
		{`SELECT COUNT(*) FROM participations p WHERE p.created_at >= $1 AND p.created_at < $2 AND p.campaign_id = $3
			AND NOT EXISTS (SELECT 1 FROM participations q WHERE q.participant_id = p.participant_id AND q.created_at < p.created_at)`, c},
		{`SELECT a.optin_id, COUNT(*), SUM(a.response)` + joinAnswers + ` AND p.campaign_id = $3 GROUP BY a.optin_id`, c},
		{`SELECT o.category, ` + distinctConv + joinAnswers + ` AND p.campaign_id = $3 GROUP BY o.category`, c},
		{`SELECT o.subcategory, ` + distinctConv + joinAnswers + ` AND p.campaign_id = $3 GROUP BY o.subcategory`, c},
		{`SELECT p.day, o.category, ` + distinctConv + joinAnswers + ` AND p.campaign_id = $3 GROUP BY p.day, o.category`, c},
	}
}

// optinReportSQL is the opt-in stats with filters, written as a plain
// design would: the filters join in as WHERE conditions.
func optinReportSQL(where string, args ...any) []plainQuery {
	pWhere := where // participation-level filters apply as they are
	if strings.Contains(where, "o.") || strings.Contains(where, "a.") {
		pWhere = ` AND p.id IN (SELECT a.participation_id FROM participation_answers a JOIN optins o ON o.id = a.optin_id
			WHERE 1 = 1` + where + `)`
	}
	return []plainQuery{
		{`SELECT COUNT(*), COUNT(DISTINCT p.participant_id) FROM participations p
			WHERE p.created_at >= $1 AND p.created_at < $2` + pWhere, args},
		{`SELECT o.category, ` + distinctConv + joinAnswers + where + ` GROUP BY o.category`, args},
		{`SELECT o.subcategory, ` + distinctConv + joinAnswers + where + ` GROUP BY o.subcategory`, args},
		{`SELECT a.optin_id, COUNT(*), SUM(a.response)` + joinAnswers + where + ` GROUP BY a.optin_id`, args},
		{`SELECT p.campaign_id, a.optin_id, COUNT(*), SUM(a.response)` + joinAnswers + where +
			` GROUP BY p.campaign_id, a.optin_id`, args},
		{`SELECT p.day, o.category, ` + distinctConv + joinAnswers + where + ` GROUP BY p.day, o.category`, args},
	}
}

// globalReportSQL is the global stats.
func globalReportSQL() []plainQuery {
	return []plainQuery{
		{`SELECT COUNT(*), COUNT(DISTINCT participant_id) FROM participations WHERE created_at >= $1 AND created_at < $2`, nil},
		{`SELECT COUNT(*) FROM participants WHERE created_at >= $1 AND created_at < $2`, nil},
		{`SELECT o.category, ` + distinctConv + joinAnswers + ` GROUP BY o.category`, nil},
		{`SELECT p.campaign_id, ` + distinctConv + joinAnswers + ` AND o.category = 'newsletter_marketing'
			GROUP BY p.campaign_id ORDER BY 3 DESC LIMIT 20`, nil},
	}
}

// plainReports mirrors statsQueries, report for report, plus the unique
// participants over a year alone.
func plainReports(c Content, g *Generator) []plainReport {
	top, second := c.Campaigns[g.TopCampaign(0)], c.Campaigns[g.TopCampaign(1)]
	tail, tail2 := c.Campaigns[g.TopCampaign(len(c.Campaigns)-1)], c.Campaigns[g.TopCampaign(len(c.Campaigns)/2)]
	optin := c.Optins[top.Optins[len(top.Optins)-1]].ID
	return []plainReport{
		{"campaign (popular)", 365, campaignReportSQL(top.ID)},
		{"campaign (popular)", 30, campaignReportSQL(second.ID)},
		{"campaign (tail)", 365, campaignReportSQL(tail.ID)},
		{"campaign (tail)", 30, campaignReportSQL(tail2.ID)},
		{"opt-in stats", 365, optinReportSQL("")},
		{"opt-in stats", 30, optinReportSQL(` AND o.category = $3`, "newsletter_marketing")},
		{"opt-in stats", 365, optinReportSQL(` AND p.campaign_id IN (SELECT id FROM campaigns WHERE language = $3)
			AND p.participant_id IN (SELECT id FROM participants WHERE created_at >= $1 AND created_at < $2)`, "fr")},
		{"opt-in stats", 365, optinReportSQL(` AND o.subcategory = $3`, "weekly-news")},
		{"opt-in stats", 7, optinReportSQL(` AND p.campaign_id = $3 AND a.optin_id = $4`, top.ID, optin)},
		{"global 7 days", 7, globalReportSQL()},
		{"global 30 days", 30, globalReportSQL()},
		{"global 365 days", 365, globalReportSQL()},
		{uniqueKind, 365, []plainQuery{{`SELECT COUNT(DISTINCT participant_id) FROM participations
			WHERE created_at >= $1 AND created_at < $2`, nil}}},
	}
}

// uniqueKind is the exact unique participants over a year: a field of
// Assent's global stats, one COUNT(DISTINCT) in the plain design.
const uniqueKind = "unique participants 365 days"

// lastDays returns the bounds, in microseconds, of the last n days of the
// account's time zone, today included.
func lastDays(now time.Time, loc *time.Location, n int) (int64, int64) {
	l := now.In(loc)
	today := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	return today.AddDate(0, 0, -(n - 1)).UnixMicro(), today.AddDate(0, 0, 1).UnixMicro()
}

// reports runs every plain report repeatedly within budget (each kind
// gets its share, at least one run, at most ten) and returns the
// latencies per kind. A run that takes longer than limit is stopped: its time is then a lower bound, and the kind is
// listed in capped.
func (p *plainDB) reports(ctx context.Context, c Content, g *Generator, now time.Time, budget, limit time.Duration,
	log io.Writer) (out map[string]Latencies, capped map[string]bool, err error) {
	reps := plainReports(c, g)
	byKind := map[string][]plainReport{}
	var kinds []string
	for _, r := range reps {
		if byKind[r.kind] == nil {
			kinds = append(kinds, r.kind)
		}
		byKind[r.kind] = append(byKind[r.kind], r)
	}
	share := budget / time.Duration(len(kinds))
	if limit <= 0 {
		limit = max(share, 30*time.Second)
	}
	out, capped = map[string]Latencies{}, map[string]bool{}
	for _, kind := range kinds {
		start := time.Now()
		for i := 0; i < 10 && (i == 0 || time.Since(start) < share); i++ {
			r := byKind[kind][i%len(byKind[kind])]
			runCtx, cancel := context.WithTimeout(ctx, limit)
			d, err := p.runReport(runCtx, r, now)
			stopped := runCtx.Err() != nil && ctx.Err() == nil
			cancel()
			if stopped {
				out[kind] = append(out[kind], limit)
				capped[kind] = true
				break
			}
			if err != nil {
				return out, capped, fmt.Errorf("plain %s: %w", kind, err)
			}
			out[kind] = append(out[kind], d)
		}
		note := ""
		if capped[kind] {
			note = fmt.Sprintf(" (a run was stopped at %s: a lower bound)", limit)
		}
		fmt.Fprintf(log, "%s  plain %s: %d runs, p50 %s%s\n", time.Now().Format("15:04:05"), kind, len(out[kind]),
			out[kind].Percentile(50).Round(time.Millisecond), note)
	}
	return out, capped, nil
}

// runReport runs the statements of r and reads every row.
func (p *plainDB) runReport(ctx context.Context, r plainReport, now time.Time) (time.Duration, error) {
	from, to := lastDays(now, p.loc, r.days)
	start := time.Now()
	for _, q := range r.queries {
		rows, err := p.r.QueryContext(ctx, q.sql, append([]any{from, to}, q.extra...)...)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", q.sql, err)
		}
		cols, _ := rows.Columns()
		dest := make([]any, len(cols))
		for i := range dest {
			dest[i] = new(any)
		}
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return 0, err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("%s: %w", q.sql, err)
		}
	}
	return time.Since(start), nil
}

// openFile opens path for reading.
func openFile(path string) (*os.File, error) { return os.Open(path) }

// qmarks turns $n placeholders into ?: modernc.org/sqlite binds
// numbered parameters by name, which costs quadratically on statements
// with thousands of them.
func qmarks(q string) string {
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		if q[i] == '$' {
			b.WriteByte('?')
			for i+1 < len(q) && q[i+1] >= '0' && q[i+1] <= '9' {
				i++
			}
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}
