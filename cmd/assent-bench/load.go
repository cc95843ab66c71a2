package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// api is a client of the service's JSON API with one key.
type api struct {
	base string // http://127.0.0.1:PORT
	key  string
	hc   *http.Client
}

func newAPI(base, key string) *api {
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, MaxConnsPerHost: 0,
		IdleConnTimeout: time.Minute, DisableCompression: true}
	return &api{base: base, key: key, hc: &http.Client{Transport: tr, Timeout: 10 * time.Minute}}
}

// do sends one request with a JSON body (nil for none) and returns the
// status and the whole answer.
func (a *api) do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// create POSTs body to path, wants 201 and decodes the answer's id.
func (a *api) create(ctx context.Context, path string, body any) (string, error) {
	status, b, err := a.do(ctx, http.MethodPost, path, body)
	if err != nil {
		return "", err
	}
	if status != http.StatusCreated {
		return "", fmt.Errorf("POST %s: status %d: %s", path, status, b)
	}
	var v struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return "", fmt.Errorf("POST %s: %w", path, err)
	}
	return v.ID, nil
}

// createContent creates c's subcategories, opt-ins and campaigns through the
// API and fills in their ids. Campaigns run from a year and a day before now
// to a month after, so that every generated participation falls in its
// campaign's period and the campaigns are live for the ingest.
func (a *api) createContent(ctx context.Context, c *Content, now time.Time) error {
	for _, sc := range benchSubcategories {
		if _, err := a.create(ctx, "/api/v1/subcategories", map[string]string{"name": sc.Name, "value": sc.Value,
			"category": sc.Category}); err != nil {
			return err
		}
	}
	for i := range c.Optins {
		o := &c.Optins[i]
		id, err := a.create(ctx, "/api/v1/optins", map[string]any{
			"name": o.Name, "language": o.Language, "display": o.Display, "mandatory": o.Mandatory,
			"double_optin": o.DoubleOptin, "subcategories": []string{o.Subcategory},
			"text": "I agree: " + o.Name + ".", "variable": fmt.Sprintf("optin_%d", i+1),
		})
		if err != nil {
			return err
		}
		o.ID = id
	}
	starts := now.Add(-(days + 1) * 24 * time.Hour).UTC().Format(time.RFC3339)
	ends := now.Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339)
	for i := range c.Campaigns {
		cp := &c.Campaigns[i]
		ids := make([]string, len(cp.Optins))
		for k, o := range cp.Optins {
			ids[k] = c.Optins[o].ID
		}
		id, err := a.create(ctx, "/api/v1/campaigns", map[string]any{
			"name": cp.Name, "language": cp.Language, "type": cp.Type, "starts_at": starts, "ends_at": ends,
			"fields": map[string]string{"first_name": cp.FirstName, "last_name": cp.LastName}, "optins": ids,
		})
		if err != nil {
			return err
		}
		cp.ID = id
	}
	return nil
}

// participationBody is the API body of a participation record.
func participationBody(rec Record) map[string]any {
	body := map[string]any{"email": rec.Email, "answers": rec.Answers, "utm": rec.UTM, "ip": rec.IP,
		"user_agent": rec.UserAgent}
	if rec.FirstName != "" {
		body["first_name"] = rec.FirstName
	}
	if rec.LastName != "" {
		body["last_name"] = rec.LastName
	}
	return body
}

// loadThroughAPI posts every record of path with workers connections. It
// stands in for "assent import" while that command does not exist: the
// participations get the time of the request, not their created_at.
func (a *api) loadThroughAPI(ctx context.Context, path string, workers int) (int, error) {
	f, err := openFile(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	recs := make(chan Record, workers*4)
	var n atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range workers {
		wg.Go(func() {
			for rec := range recs {
				status, b, err := a.do(ctx, http.MethodPost, "/api/v1/campaigns/"+rec.CampaignID+"/participations",
					participationBody(rec))
				if err == nil && status != http.StatusCreated {
					err = fmt.Errorf("status %d: %s", status, b)
				}
				if err != nil {
					once.Do(func() { firstErr = err; cancel() })
					continue
				}
				n.Add(1)
			}
		})
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() && ctx.Err() == nil {
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			once.Do(func() { firstErr = err })
			break
		}
		recs <- rec
	}
	close(recs)
	wg.Wait()
	if firstErr == nil {
		firstErr = sc.Err()
	}
	return int(n.Load()), firstErr
}

// Latencies are the durations of one kind of request.
type Latencies []time.Duration

// Percentile returns the p-th percentile (0 < p ≤ 100) by nearest rank, or
// 0 for no samples.
func (l Latencies) Percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	rank := int(float64(len(s))*p/100+0.999999999) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// ingestResult is what a timed ingest measured.
type ingestResult struct {
	OK, Failed int
	Elapsed    time.Duration
	Latencies  Latencies // of the 2xx answers
	FirstError string
}

// Rate is acknowledged participations per second.
func (r ingestResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// ingestWork is the participation that worker w sends as its k-th: a
// campaign with five opt-ins, a participant that is new half of the time.
type ingestWork func(r *rand.Rand, w, k int) Record

// liveRecords returns the generator of live participations for the
// five-opt-in campaigns of c, drawn like the generated ones; half of them
// come from known participants, the others from new addresses that start
// with prefix.
func liveRecords(c Content, pool int, prefix string) ingestWork {
	var five []int
	for i, cp := range c.Campaigns {
		if len(cp.Optins) == 5 {
			five = append(five, i)
		}
	}
	return func(r *rand.Rand, w, k int) Record {
		cp := c.Campaigns[five[r.IntN(len(five))]]
		rec := Record{CampaignID: cp.ID, Answers: make(map[string]bool, 5), UTM: utms[r.IntN(len(utms))],
			IP: fmt.Sprintf("198.51.100.%d", 1+r.IntN(254)), UserAgent: userAgents[r.IntN(len(userAgents))]}
		if r.IntN(2) == 0 {
			rec.Email = fmt.Sprintf("p%d@example.com", r.IntN(max(pool, 1)))
		} else {
			rec.Email = fmt.Sprintf("%s%d-%d@example.com", prefix, w, k)
		}
		if cp.FirstName == "required" {
			rec.FirstName = firstNames[r.IntN(len(firstNames))]
		}
		if cp.LastName == "required" {
			rec.LastName = lastNames[r.IntN(len(lastNames))]
		}
		for _, i := range cp.Optins {
			o := c.Optins[i]
			rec.Answers[o.ID] = o.Mandatory || r.Float64() < o.Accept
		}
		return rec
	}
}

// runIngest runs workers goroutines, each sending one participation at a
// time through submit for d, and collects the latencies.
func runIngest(ctx context.Context, workers int, d time.Duration, seed uint64, work ingestWork,
	submit func(ctx context.Context, rec Record) error) ingestResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	type part struct {
		lat    Latencies
		failed int
		err    error
	}
	parts := make([]part, workers)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			p := &parts[w]
			for k := 0; ctx.Err() == nil; k++ {
				rec := work(r, w, k)
				t := time.Now()
				err := submit(ctx, rec)
				if ctx.Err() != nil {
					break // cut by the end of the run: counts neither way
				}
				if err != nil {
					p.failed++
					if p.err == nil {
						p.err = err
					}
					continue
				}
				p.lat = append(p.lat, time.Since(t))
			}
		})
	}
	wg.Wait()
	res := ingestResult{Elapsed: time.Since(start)}
	for _, p := range parts {
		res.Latencies = append(res.Latencies, p.lat...)
		res.Failed += p.failed
		if p.err != nil && res.FirstError == "" {
			res.FirstError = p.err.Error()
		}
	}
	res.OK = len(res.Latencies)
	return res
}

// submitAPI posts a participation and wants a 2xx.
func (a *api) submit(ctx context.Context, rec Record) error {
	status, b, err := a.do(ctx, http.MethodPost, "/api/v1/campaigns/"+rec.CampaignID+"/participations",
		participationBody(rec))
	if err != nil {
		return err
	}
	if status/100 != 2 {
		return fmt.Errorf("status %d: %s", status, bytes.TrimSpace(b))
	}
	return nil
}

// statsQuery is one statistics request of a report kind.
type statsQuery struct {
	Kind string
	Path string
}

// statsKinds lists the report kinds in the order of the tables.
var statsKinds = []string{"campaign (popular)", "campaign (tail)", "opt-in stats", "global 7 days",
	"global 30 days", "global 365 days"}

// statsQueries returns the reports that the benchmark asks for: the
// dashboards of popular and tail campaigns, opt-in stats with a few
// filters and intervals, and global stats over 7, 30 and 365 days (the
// unique participants over a year are a field of the last).
func statsQueries(c Content, g *Generator) []statsQuery {
	top, second := c.Campaigns[g.TopCampaign(0)], c.Campaigns[g.TopCampaign(1)]
	tail, tail2 := c.Campaigns[g.TopCampaign(len(c.Campaigns)-1)], c.Campaigns[g.TopCampaign(len(c.Campaigns)/2)]
	optin := c.Optins[top.Optins[len(top.Optins)-1]].ID
	return []statsQuery{
		{"campaign (popular)", "/api/v1/campaigns/" + top.ID + "/stats?period=last_365_days&interval=week"},
		{"campaign (popular)", "/api/v1/campaigns/" + second.ID + "/stats?period=last_30_days&interval=day"},
		{"campaign (tail)", "/api/v1/campaigns/" + tail.ID + "/stats?period=last_365_days&interval=month"},
		{"campaign (tail)", "/api/v1/campaigns/" + tail2.ID + "/stats?period=last_30_days&interval=day"},
		{"opt-in stats", "/api/v1/stats/optins?period=last_365_days&interval=month"},
		{"opt-in stats", "/api/v1/stats/optins?period=last_30_days&interval=day&category=newsletter_marketing"},
		{"opt-in stats", "/api/v1/stats/optins?period=last_365_days&interval=week&language=fr&participants=new"},
		{"opt-in stats", "/api/v1/stats/optins?period=last_365_days&interval=month&subcategory=weekly-news"},
		{"opt-in stats", "/api/v1/stats/optins?period=last_7_days&interval=day&campaign=" + top.ID + "&optin=" + optin},
		{"global 7 days", "/api/v1/stats/global?period=last_7_days"},
		{"global 30 days", "/api/v1/stats/global?period=last_30_days"},
		{"global 365 days", "/api/v1/stats/global?period=last_365_days"},
	}
}

// runStats asks for qs round-robin from workers goroutines until ctx ends,
// and returns the latencies per kind and how many requests failed.
func (a *api) runStats(ctx context.Context, qs []statsQuery, workers int) (map[string]Latencies, int, string) {
	var mu sync.Mutex
	out := map[string]Latencies{}
	failed := 0
	firstErr := ""
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for k := w; ctx.Err() == nil; k++ {
				q := qs[k%len(qs)]
				t := time.Now()
				status, b, err := a.do(ctx, http.MethodGet, q.Path, nil)
				d := time.Since(t)
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				if err != nil || status != http.StatusOK {
					failed++
					if firstErr == "" {
						firstErr = fmt.Sprintf("GET %s: %d %v %s", q.Path, status, err, bytes.TrimSpace(b))
					}
				} else {
					out[q.Kind] = append(out[q.Kind], d)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out, failed, firstErr
}

// statsAtRest asks for each of qs rounds times, one request at a time, and
// returns the latencies per kind.
func (a *api) statsAtRest(ctx context.Context, qs []statsQuery, rounds int) (map[string]Latencies, error) {
	out := map[string]Latencies{}
	for range rounds {
		for _, q := range qs {
			t := time.Now()
			status, b, err := a.do(ctx, http.MethodGet, q.Path, nil)
			d := time.Since(t)
			if err != nil || status != http.StatusOK {
				return nil, fmt.Errorf("GET %s: %d %v %s", q.Path, status, err, bytes.TrimSpace(b))
			}
			out[q.Kind] = append(out[q.Kind], d)
		}
	}
	return out, nil
}

// waitReady polls until the service answers /healthz with 200 and then a
// statistics request with 200, and returns when that happened.
func (a *api) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, path := range []string{"/healthz", "/api/v1/stats/global?period=last_7_days"} {
		for {
			status, _, err := a.do(ctx, http.MethodGet, path, nil)
			if err == nil && status == http.StatusOK {
				break
			}
			if ctx.Err() != nil {
				return fmt.Errorf("GET %s: not ready after %s (last: %d %v)", path, timeout, status, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}

// exportResult is one CSV export: rows (header excluded) and time.
type exportResult struct {
	Name    string
	Path    string
	Rows    int
	Elapsed time.Duration
}

// RowsPerSecond is the export's speed.
func (e exportResult) RowsPerSecond() float64 { return float64(e.Rows) / e.Elapsed.Seconds() }

// export downloads a CSV and counts its rows as they stream.
func (a *api) export(ctx context.Context, name, path string) (exportResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		return exportResult{}, err
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	start := time.Now()
	resp, err := a.hc.Do(req)
	if err != nil {
		return exportResult{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
		return exportResult{}, fmt.Errorf("GET %s: status %d: %s", path, resp.StatusCode, b)
	}
	lines, err := countLines(resp.Body)
	if err != nil {
		return exportResult{}, fmt.Errorf("GET %s: %w", path, err)
	}
	return exportResult{Name: name, Path: path, Rows: max(lines-1, 0), Elapsed: time.Since(start)}, nil
}

// countLines counts the newlines of r. Quoted fields of the exports hold
// no newline (names and emails), so lines are rows.
func countLines(r io.Reader) (int, error) {
	buf := make([]byte, 256<<10)
	n := 0
	for {
		k, err := r.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}
