// Package webhook delivers the webhook outbox that the store writes in the
// transaction of each event: it claims due deliveries under a lease, POSTs
// them signed the Standard Webhooks way, logs every attempt, and retries
// failures on Schedule until they succeed or the schedule runs out.
//
// Any number of dispatchers, in one process or in several sharing one
// PostgreSQL database, can run at once: a claim is atomic, so each
// delivery goes out once in the normal case, and at least once when a
// process dies mid-delivery (its lease runs out and another claims it).
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/assentdev/assent/store"
)

// Defaults of a Dispatcher.
const (
	DefaultTimeout     = 15 * time.Second
	DefaultLease       = 2 * time.Minute
	DefaultConcurrency = 16
	DefaultInterval    = time.Second
)

// maxLoggedBody is how much of an answer's body the delivery log keeps.
const maxLoggedBody = 1024

// Dispatcher delivers the webhook outbox of a store. Create it with New,
// adjust its fields before starting it, then call Run (or DeliverDue).
// Its clock is the store's Now, so that tests that move the store's clock
// move retries too.
type Dispatcher struct {
	store  *store.Store
	log    *slog.Logger
	client *http.Client

	// Timeout bounds each call: no complete answer within it is a failure.
	Timeout time.Duration
	// Lease is how long a claim reserves a delivery; at least twice
	// Timeout is used, so that a call always ends, and its result is
	// recorded, within its lease.
	Lease time.Duration
	// Concurrency is how many calls may run at once.
	Concurrency int
	// Interval is how often the outbox is polled, for retries coming due
	// and for deliveries queued by other processes. Deliveries queued by
	// this process wake the dispatcher at once.
	Interval time.Duration
	// Grace is how long Run waits for calls in flight once it is stopped;
	// the calls still running then are abandoned and their deliveries
	// released, due again for the next worker. Zero means Timeout plus
	// five seconds: every call finishes or times out.
	Grace time.Duration
	// Schedule is the wait before each retry; Schedule by default.
	Schedule []time.Duration
}

// New returns a Dispatcher for the store's outbox with the default
// settings, logging to log.
func New(st *store.Store, log *slog.Logger) *Dispatcher {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = DefaultConcurrency
	return &Dispatcher{
		store: st,
		log:   log,
		client: &http.Client{
			Transport: transport,
			// A redirect is an answer, and not a 2xx one: following it would
			// send signed data somewhere the admin did not register.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		Timeout:     DefaultTimeout,
		Lease:       DefaultLease,
		Concurrency: DefaultConcurrency,
		Interval:    DefaultInterval,
		Schedule:    Schedule,
	}
}

func (d *Dispatcher) now() time.Time { return d.store.Now() }

func (d *Dispatcher) grace() time.Duration {
	if d.Grace > 0 {
		return d.Grace
	}
	return d.Timeout + 5*time.Second
}

// Run delivers due deliveries until ctx ends. Then it claims nothing
// more, waits up to Grace for the calls in flight, releases the deliveries
// of those it abandons, records every result, and returns.
func (d *Dispatcher) Run(ctx context.Context) {
	d.Concurrency, d.Interval = max(d.Concurrency, 1), max(d.Interval, time.Millisecond)
	results := make(chan store.DeliveryResult, d.Concurrency)
	recorded := make(chan struct{})
	go func() {
		d.recordLoop(results)
		close(recorded)
	}()
	// Calls run under their own context: stopping Run lets them finish,
	// until Grace runs out.
	callCtx, abandon := context.WithCancel(context.Background())
	defer abandon()
	slots := make(chan struct{}, d.Concurrency)
	freed := make(chan struct{}, 1)
	var inflight sync.WaitGroup
	tick := time.NewTicker(d.Interval)
	defer tick.Stop()
	for ctx.Err() == nil {
		if free := cap(slots) - len(slots); free > 0 {
			claimed, err := d.claim(free)
			if err != nil {
				d.log.Error("webhook: claim deliveries", "err", err)
			}
			for _, dl := range claimed {
				slots <- struct{}{}
				inflight.Go(func() {
					results <- d.attempt(callCtx, dl)
					<-slots
					select {
					case freed <- struct{}{}:
					default:
					}
				})
			}
			if len(claimed) == free {
				continue // there may be more due: claim again as slots free up
			}
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		case <-d.store.WebhooksQueued():
		case <-freed:
		}
	}
	done := make(chan struct{})
	go func() {
		inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d.grace()):
		d.log.Warn("webhook: stopping: abandoning calls still in flight; their deliveries are due again")
		abandon()
		<-done
	}
	close(results)
	<-recorded
}

// claim claims up to n deliveries. It does not take Run's context: a claim
// cut short could leave deliveries leased to nobody until the lease ends.
func (d *Dispatcher) claim(n int) ([]store.Delivery, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return d.store.ClaimDeliveries(ctx, n, d.lease())
}

// lease is Lease, or twice Timeout when that is longer: a lease that ends
// while its call may still be running would let another worker send the
// same delivery in the normal case.
func (d *Dispatcher) lease() time.Duration {
	return max(d.Lease, 2*d.Timeout)
}

// DeliverDue delivers every delivery due now, Concurrency at a time, and
// returns how many attempts it made. It returns once their results are
// recorded; retries due later are left for later.
func (d *Dispatcher) DeliverDue(ctx context.Context) (int, error) {
	n := 0
	for {
		claimed, err := d.store.ClaimDeliveries(ctx, max(d.Concurrency, 1), d.lease())
		if err != nil || len(claimed) == 0 {
			return n, err
		}
		results := make([]store.DeliveryResult, len(claimed))
		var wg sync.WaitGroup
		for i, dl := range claimed {
			wg.Go(func() { results[i] = d.attempt(ctx, dl) })
		}
		wg.Wait()
		if err := d.record(results); err != nil {
			return n, err
		}
		for _, r := range results {
			if !r.Released {
				n++
			}
		}
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
	}
}

// recordLoop records results as they come, a batch per transaction, until
// results is closed.
func (d *Dispatcher) recordLoop(results <-chan store.DeliveryResult) {
	for r := range results {
		batch := []store.DeliveryResult{r}
	drain:
		for len(batch) < 256 {
			select {
			case r, ok := <-results:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		d.record(batch)
	}
}

// record stores results and logs each attempt. A batch that fails is
// tried again one result at a time, so that one bad result cannot sink the
// others; a result that cannot be stored is lost, and its delivery is sent
// again once its lease runs out.
func (d *Dispatcher) record(results []store.DeliveryResult) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := d.store.RecordDeliveries(ctx, results)
	if err != nil && len(results) > 1 {
		err = nil
		for _, r := range results {
			err = errors.Join(err, d.store.RecordDeliveries(ctx, []store.DeliveryResult{r}))
		}
	}
	if err != nil {
		d.log.Error("webhook: record delivery results; those deliveries will be sent again when their lease ends",
			"err", err)
	}
	for _, r := range results {
		switch {
		case r.Released:
			d.log.Info("webhook: delivery released", "delivery", r.DeliveryID)
		case r.Success:
			d.log.Info("webhook: delivered", "delivery", r.DeliveryID, "event", r.EventID, "endpoint", r.EndpointID,
				"attempt", r.Attempt, "status", r.StatusCode, "duration", r.Duration)
		default:
			args := []any{"delivery", r.DeliveryID, "event", r.EventID, "endpoint", r.EndpointID, "attempt", r.Attempt,
				"status", r.StatusCode, "error", r.Error, "duration", r.Duration}
			if r.RetryAt != nil {
				d.log.Warn("webhook: attempt failed; will retry", append(args, "retry_at", *r.RetryAt)...)
			} else {
				d.log.Error("webhook: attempt failed; giving up after the last retry", args...)
			}
		}
	}
	return err
}

// attempt makes one call for a claimed delivery and says what came of it.
// A call cut short because ctx ended is no attempt: the delivery is
// released.
func (d *Dispatcher) attempt(ctx context.Context, dl store.Delivery) store.DeliveryResult {
	r := store.DeliveryResult{DeliveryID: dl.ID, Lease: dl.Lease, Attempt: dl.Attempts + 1, EndpointID: dl.EndpointID,
		EventID: dl.EventID, At: d.now()}
	start := time.Now()
	status, body, err := d.post(ctx, dl, r.At)
	r.Duration = time.Since(start)
	if err != nil && ctx.Err() != nil {
		return store.DeliveryResult{DeliveryID: dl.ID, Lease: dl.Lease, Released: true}
	}
	r.StatusCode, r.ResponseBody = status, body
	switch {
	case err != nil:
		r.Error = d.describe(err)
	case status >= 200 && status < 300:
		r.Success = true
	case status >= 300 && status < 400:
		r.Error = "redirects are not followed: register the final URL"
	}
	if !r.Success {
		schedule := d.Schedule
		if schedule == nil {
			schedule = Schedule
		}
		if delay, ok := retryDelay(schedule, r.Attempt); ok {
			at := d.now().Add(delay)
			r.RetryAt = &at
		}
	}
	return r
}

// post sends a delivery and returns the status and the start of the body
// of the answer.
func (d *Dispatcher) post(ctx context.Context, dl store.Delivery, at time.Time) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	timestamp := at.Unix()
	signature, err := Sign(dl.Secrets, dl.EventID, timestamp, dl.Payload)
	if err != nil {
		return 0, "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.URL, bytes.NewReader(dl.Payload))
	if err != nil {
		return 0, "", err
	}
	if dl.HeaderName != "" {
		req.Header.Set(dl.HeaderName, dl.HeaderValue)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Assent-Webhooks/1")
	req.Header.Set("webhook-id", dl.EventID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(timestamp, 10))
	req.Header.Set("webhook-signature", signature)
	res, err := d.client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxLoggedBody))
	// Read a little more, so that the connection can serve the next call.
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	return res.StatusCode, string(body), nil
}

// describe says why a call got no answer, without the URL (the log shows
// the endpoint) and in the admin's terms.
func (d *Dispatcher) describe(err error) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return fmt.Sprintf("no answer within %s", d.Timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}
