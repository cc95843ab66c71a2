package store

import (
	"context"
	"sync"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/stats"
)

// metaTTL is how long the write path trusts what it read of API keys,
// accounts and forms. A change made by this process is seen at once (it
// empties the cache); one made by another process sharing the database,
// within metaTTL.
const metaTTL = time.Second

// metaCache keeps what every participation reads and what rarely changes
// (the API key, the account's zone and secret, the campaign and its form),
// so that a submission reaches the writer without a query; and what every
// report names (opt-ins, subcategories, campaigns).
type metaCache struct {
	mu    sync.Mutex
	gen   uint64 // moves on every change; an entry read before it is not kept
	keys  map[string]cached[assent.Principal]
	accts map[string]cached[accountInfo]
	forms map[[2]string]cached[campaignForm]
	stats map[string]cached[stats.Meta] // what reports name, per account
}

// cached is an entry of the cache and the time it was read.
type cached[T any] struct {
	v  T
	at time.Time
}

// campaignForm is a campaign and the opt-ins of its form, in form order.
type campaignForm struct {
	campaign assent.Campaign
	form     []assent.Optin
}

// forget empties the cache. Every change to API keys, accounts, opt-ins,
// subcategories or campaigns, creations included, calls it once committed.
func (s *Store) forget() {
	c := &s.meta
	c.mu.Lock()
	c.gen++
	c.keys, c.accts, c.forms, c.stats = nil, nil, nil, nil
	c.mu.Unlock()
}

// lookupCached returns the entry under k if it is fresh, with the
// generation to pass to storeCached after reading it anew.
func lookupCached[K comparable, T any](c *metaCache, m func() map[K]cached[T], k K) (T, bool, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := m()[k]
	if ok && time.Since(e.at) < metaTTL {
		return e.v, true, c.gen
	}
	var zero T
	return zero, false, c.gen
}

// storeCached keeps v under k, unless something changed since gen.
func storeCached[K comparable, T any](c *metaCache, m func() map[K]cached[T], set func(map[K]cached[T]), gen uint64, k K, v T, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	mm := m()
	if mm == nil || len(mm) > 10000 {
		mm = map[K]cached[T]{}
		set(mm)
	}
	mm[k] = cached[T]{v: v, at: at}
}

// cachedPrincipal is Authenticate through the cache.
func (s *Store) cachedPrincipal(ctx context.Context, hash string) (assent.Principal, error) {
	c := &s.meta
	get := func() map[string]cached[assent.Principal] { return c.keys }
	p, ok, gen := lookupCached(c, get, hash)
	if ok {
		return p, nil
	}
	at := time.Now()
	p, err := s.principal(ctx, hash)
	if err == nil {
		storeCached(c, get, func(m map[string]cached[assent.Principal]) { c.keys = m }, gen, hash, p, at)
	}
	return p, err
}

// cachedAccountInfo is accountInfo through the cache.
func (s *Store) cachedAccountInfo(ctx context.Context, id string) (accountInfo, error) {
	c := &s.meta
	get := func() map[string]cached[accountInfo] { return c.accts }
	a, ok, gen := lookupCached(c, get, id)
	if ok {
		return a, nil
	}
	at := time.Now()
	a, err := s.accountInfo(ctx, s.rdb, id)
	if err == nil {
		storeCached(c, get, func(m map[string]cached[accountInfo]) { c.accts = m }, gen, id, a, at)
	}
	return a, err
}

// ReportCampaign is Campaign for reports, through the same cache as the
// write path: a dashboard asks for its campaign on every request. A change
// made through this process shows at once, one made by another process
// sharing the database within a second.
func (s *Store) ReportCampaign(ctx context.Context, accountID, id string) (assent.Campaign, error) {
	c, _, err := s.cachedForm(ctx, accountID, id)
	return c, err
}

// cachedForm returns a campaign of the account and its form's opt-ins,
// through the cache.
func (s *Store) cachedForm(ctx context.Context, accountID, campaignID string) (assent.Campaign, []assent.Optin, error) {
	c := &s.meta
	get := func() map[[2]string]cached[campaignForm] { return c.forms }
	k := [2]string{accountID, campaignID}
	f, ok, gen := lookupCached(c, get, k)
	if ok {
		return f.campaign, f.form, nil
	}
	at := time.Now()
	camp, err := s.Campaign(ctx, accountID, campaignID)
	if err != nil {
		return camp, nil, err
	}
	form, err := s.FormOptins(ctx, accountID, camp.Optins)
	if err != nil {
		return camp, nil, err
	}
	storeCached(c, get, func(m map[[2]string]cached[campaignForm]) { c.forms = m }, gen, k,
		campaignForm{campaign: camp, form: form}, at)
	return camp, form, nil
}
