package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"time"
)

// This file plans the benchmark's content (subcategories, opt-ins,
// campaigns) and generates its participations. Everything here is
// deterministic for a seed and a clock: the same -seed gives the same
// NDJSON, byte for byte, once the ids the service gave are the same.

// subcategorySpec is a custom subcategory the benchmark creates.
type subcategorySpec struct{ Name, Value, Category string }

// benchSubcategories are the twelve custom subcategories, three per
// category on average; the four built-in ones (value = category key) are
// used too.
var benchSubcategories = []subcategorySpec{
	{"Weekly news", "weekly-news", "newsletter_marketing"},
	{"Flash sales", "flash-sales", "newsletter_marketing"},
	{"SMS offers", "sms-offers", "newsletter_marketing"},
	{"Product news", "product-news", "newsletter_marketing"},
	{"Contest rules", "contest-rules", "legal"},
	{"Privacy policy", "privacy-policy", "legal"},
	{"Terms of use", "terms-of-use", "legal"},
	{"Travel partners", "partner-travel", "partners"},
	{"Telecom partners", "partner-telecom", "partners"},
	{"Retail partners", "partner-retail", "partners"},
	{"Surveys", "surveys", "others"},
	{"Events", "events", "others"},
}

// Optin is an opt-in of the benchmark: what the API is asked to create,
// how participants answer it, and the id the service gave it.
type Optin struct {
	ID          string
	Name        string
	Language    string
	Display     string // checkbox or radio
	Mandatory   bool
	DoubleOptin bool
	Subcategory string // exactly one, so that the plain schema has one column
	Category    string
	Accept      float64 // probability that a participant accepts it
	Confirm     float64 // probability that an accepted double opt-in was confirmed
}

// Campaign is a campaign of the benchmark.
type Campaign struct {
	ID                  string
	Name                string
	Language            string
	Type                string
	FirstName, LastName string // required, optional or hidden
	Optins              []int  // indexes into Content.Optins, in form order
}

// Content is everything the benchmark creates before participations.
type Content struct {
	Optins    []Optin
	Campaigns []Campaign
}

// optinTemplate is one of the twenty opt-ins created in each language.
type optinTemplate struct {
	name, display         string
	mandatory, double     bool
	subcategory, category string
	accept                float64
}

var optinTemplates = []optinTemplate{
	{"Weekly newsletter", "checkbox", false, true, "weekly-news", "newsletter_marketing", 0.45},
	{"Flash sales", "checkbox", false, false, "flash-sales", "newsletter_marketing", 0.30},
	{"SMS offers", "radio", false, true, "sms-offers", "newsletter_marketing", 0.15},
	{"Product news", "checkbox", false, false, "product-news", "newsletter_marketing", 0.35},
	{"Brand newsletter", "checkbox", false, false, "newsletter_marketing", "newsletter_marketing", 0.40},
	{"Kids club newsletter", "checkbox", false, false, "weekly-news", "newsletter_marketing", 0.20},
	{"Loyalty programme", "checkbox", false, true, "product-news", "newsletter_marketing", 0.25},
	{"Contest rules", "checkbox", true, false, "contest-rules", "legal", 1},
	{"Privacy policy", "checkbox", true, false, "privacy-policy", "legal", 1},
	{"Terms of use", "checkbox", true, false, "terms-of-use", "legal", 1},
	{"Age confirmation", "checkbox", true, false, "legal", "legal", 1},
	{"Travel partners", "checkbox", false, false, "partner-travel", "partners", 0.15},
	{"Telecom partners", "radio", false, true, "partner-telecom", "partners", 0.12},
	{"Retail partners", "checkbox", false, false, "partner-retail", "partners", 0.18},
	{"All partners", "checkbox", false, false, "partners", "partners", 0.10},
	{"Survey follow-up", "radio", false, false, "surveys", "others", 0.40},
	{"Event invitations", "checkbox", false, false, "events", "others", 0.30},
	{"Feedback panel", "checkbox", false, false, "others", "others", 0.25},
	{"Member events", "checkbox", false, true, "events", "others", 0.20},
	{"Quiz results", "checkbox", false, false, "surveys", "others", 0.50},
}

// benchLanguages are the campaigns' languages; an opt-in has one language
// and a campaign shows only opt-ins of its own.
var benchLanguages = []string{"en", "fr"}

// fiveOptinCampaigns is how many campaigns have exactly five opt-ins: the
// live ingest posts to those (SPEC §11: "5 opt-ins each").
const fiveOptinCampaigns = 20

// PlanContent returns the content to create: 40 opt-ins (20 per language)
// and campaigns campaigns alternating en and fr, each with a form of 1 to
// 10 opt-ins; the first fiveOptinCampaigns have exactly 5.
func PlanContent(seed uint64, campaigns int) Content {
	r := rand.New(rand.NewPCG(seed, 0xc0ffee))
	var c Content
	for _, lang := range benchLanguages {
		for _, t := range optinTemplates {
			c.Optins = append(c.Optins, Optin{
				Name: fmt.Sprintf("%s (%s)", t.name, lang), Language: lang, Display: t.display,
				Mandatory: t.mandatory, DoubleOptin: t.double, Subcategory: t.subcategory, Category: t.category,
				Accept: t.accept, Confirm: 0.8,
			})
		}
	}
	fields := []string{"required", "optional", "hidden"}
	types := []string{"contest", "quiz", "survey", "poll", "signup", "other"}
	for i := range campaigns {
		lang := benchLanguages[i%len(benchLanguages)]
		base := slices.Index(benchLanguages, lang) * len(optinTemplates)
		size := 5
		if i >= fiveOptinCampaigns {
			size = 1 + r.IntN(10)
		}
		// Most forms start with one mandatory legal opt-in, as real ones do.
		var form []int
		if r.Float64() < 0.6 {
			form = append(form, base+7+r.IntN(4))
		}
		for _, k := range r.Perm(len(optinTemplates)) {
			if len(form) == size {
				break
			}
			if o := base + k; !slices.Contains(form, o) && (!optinTemplates[k].mandatory || r.Float64() < 0.2) {
				form = append(form, o)
			}
		}
		c.Campaigns = append(c.Campaigns, Campaign{
			Name: fmt.Sprintf("Campaign %03d (%s)", i+1, lang), Language: lang, Type: types[r.IntN(len(types))],
			FirstName: fields[r.IntN(3)], LastName: fields[r.IntN(3)], Optins: form,
		})
	}
	return c
}

// Record is one line of the NDJSON that "assent import" reads.
type Record struct {
	CampaignID string          `json:"campaign_id"`
	CreatedAt  string          `json:"created_at"`
	Email      string          `json:"email"`
	FirstName  string          `json:"first_name,omitempty"`
	LastName   string          `json:"last_name,omitempty"`
	Answers    map[string]bool `json:"answers"`
	UTM        UTM             `json:"utm"`
	IP         string          `json:"ip"`
	UserAgent  string          `json:"user_agent"`
	Confirmed  []string        `json:"confirmed,omitempty"`

	// For the statistics engine alone (engine.go): the participant's
	// number in the pool, the campaign's index and the time, unparsed.
	participant uint64
	campaign    int
	at          time.Time
}

// UTM is the utm object of a participation.
type UTM struct {
	Source   string `json:"source"`
	Medium   string `json:"medium"`
	Campaign string `json:"campaign"`
	Term     string `json:"term"`
	Content  string `json:"content"`
}

// timeLayout is created_at's layout: RFC 3339, UTC, microseconds.
const timeLayout = "2006-01-02T15:04:05.000000Z"

var (
	firstNames = []string{"Ann", "Bob", "Chloé", "David", "Emma", "Farid", "Greta", "Hugo", "Inès", "Jan", "Kim",
		"Lea", "Marc", "Nora", "Omar", "Paula", "Quentin", "Rosa", "Sam", "Tess", "Ugo", "Vera", "Wout", "Yara", "Zoé"}
	lastNames = []string{"Lee", "Peeters", "Janssens", "Maes", "Dubois", "Martin", "Smith", "Jacobs", "Mertens",
		"Willems", "Claes", "Lambert", "Dupont", "Wouters", "Goossens", "Leroy", "Garcia", "Nowak", "Rossi", "Khan"}
	utms = []UTM{
		{Source: "newsletter", Medium: "email"},
		{Source: "facebook", Medium: "social", Campaign: "spring"},
		{Source: "instagram", Medium: "social"},
		{Source: "google", Medium: "cpc", Term: "contest"},
		{},
		{},
		{Source: "partner", Medium: "referral", Content: "banner"},
	}
	userAgents = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
		"Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36",
		"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
	}
	// hourWeight is the share of participations per UTC hour: quiet
	// nights, a lunch bump and an evening peak.
	hourWeight = [24]float64{0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.7, 0.9, 1.0, 1.0, 1.1,
		1.3, 1.1, 1.0, 1.0, 1.0, 1.1, 1.3, 1.5, 1.6, 1.4, 0.9, 0.5}
	// weekdayWeight: more on Sundays and Mondays, fewer on Saturdays.
	weekdayWeight = [7]float64{1.25, 1.15, 1.0, 1.0, 0.95, 0.9, 0.75}
)

// Generator produces the benchmark's participations, oldest first.
type Generator struct {
	content  Content
	r        *rand.Rand
	campaign *rand.Zipf
	rank     []int // rank (0 = most popular) → campaign index
	pool     uint64
	start    time.Time
	perDay   []int
	day, i   int // current day, index within it
	times    []time.Time
	// Tallies, for choosing what to export and query.
	CampaignCount    []int
	OptinConversions []int
}

// days is the span of the generated data.
const days = 365

// NewGenerator returns a generator of n participations over the 365 days
// before now, for content c.
func NewGenerator(c Content, n int, seed uint64, now time.Time) *Generator {
	r := rand.New(rand.NewPCG(seed, 0xbe4c4))
	g := &Generator{content: c, r: r, pool: uint64(max(n/3, 1)), start: now.Add(-days * 24 * time.Hour),
		CampaignCount: make([]int, len(c.Campaigns)), OptinConversions: make([]int, len(c.Optins))}
	g.campaign = rand.NewZipf(r, 1.1, 2, uint64(len(c.Campaigns)-1))
	g.rank = r.Perm(len(c.Campaigns))
	// Days grow slowly over the year and follow the week; counts are
	// allotted by largest remainder, so they add up to n exactly.
	w := make([]float64, days)
	var sum float64
	for d := range w {
		t := g.start.Add(time.Duration(d) * 24 * time.Hour)
		w[d] = (0.8 + 0.4*float64(d)/days) * weekdayWeight[t.Weekday()]
		sum += w[d]
	}
	g.perDay = make([]int, days)
	type rem struct {
		d int
		f float64
	}
	rems := make([]rem, days)
	left := n
	for d := range w {
		x := float64(n) * w[d] / sum
		g.perDay[d] = int(x)
		left -= g.perDay[d]
		rems[d] = rem{d, x - math.Floor(x)}
	}
	slices.SortStableFunc(rems, func(a, b rem) int {
		if a.f != b.f {
			if a.f > b.f {
				return -1
			}
			return 1
		}
		return a.d - b.d
	})
	for k := 0; k < left; k++ {
		g.perDay[rems[k%days].d]++
	}
	return g
}

// TopCampaign returns the index of the campaign of popularity rank k.
func (g *Generator) TopCampaign(k int) int { return g.rank[k] }

// Next returns the next participation, or false when all are made.
func (g *Generator) Next() (Record, bool) {
	for g.i >= len(g.times) {
		if g.day >= days {
			return Record{}, false
		}
		g.dayTimes()
	}
	t := g.times[g.i]
	g.i++
	return g.record(t), true
}

// dayTimes draws the sorted times of the next day's participations.
func (g *Generator) dayTimes() {
	dayStart := g.start.Add(time.Duration(g.day) * 24 * time.Hour)
	g.times = g.times[:0]
	for range g.perDay[g.day] {
		for {
			t := dayStart.Add(time.Duration(g.r.Int64N(int64(24 * time.Hour))))
			if g.r.Float64()*1.6 < hourWeight[t.Hour()] {
				g.times = append(g.times, t.Truncate(time.Microsecond))
				break
			}
		}
	}
	slices.SortFunc(g.times, func(a, b time.Time) int { return a.Compare(b) })
	g.day++
	g.i = 0
}

// participant picks a participant of the pool: low numbers come back
// often (density ∝ 1/√i), so that about a third of the pool are repeat
// participants and a few participate dozens of times.
func (g *Generator) participant() uint64 {
	u := g.r.Float64()
	return uint64(u * u * float64(g.pool))
}

func (g *Generator) record(t time.Time) Record {
	ci := g.rank[g.campaign.Uint64()]
	c := g.content.Campaigns[ci]
	g.CampaignCount[ci]++
	p := g.participant()
	rec := Record{
		CampaignID:  c.ID,
		CreatedAt:   t.UTC().Format(timeLayout),
		Email:       fmt.Sprintf("p%d@example.com", p),
		Answers:     make(map[string]bool, len(c.Optins)),
		UTM:         utms[g.r.IntN(len(utms))],
		IP:          fmt.Sprintf("203.0.%d.%d", 113+g.r.IntN(3), 1+g.r.IntN(254)),
		UserAgent:   userAgents[g.r.IntN(len(userAgents))],
		participant: p, campaign: ci, at: t,
	}
	// A participant keeps the same name everywhere.
	if c.FirstName == "required" || (c.FirstName == "optional" && g.r.Float64() < 0.7) {
		rec.FirstName = firstNames[p%uint64(len(firstNames))]
	}
	if c.LastName == "required" || (c.LastName == "optional" && g.r.Float64() < 0.6) {
		rec.LastName = lastNames[(p/7)%uint64(len(lastNames))]
	}
	for _, k := range c.Optins {
		o := g.content.Optins[k]
		yes := o.Mandatory || g.r.Float64() < o.Accept
		rec.Answers[o.ID] = yes
		if yes {
			g.OptinConversions[k]++
			if o.DoubleOptin && g.r.Float64() < o.Confirm {
				rec.Confirmed = append(rec.Confirmed, o.ID)
			}
		}
	}
	return rec
}

// WriteNDJSON writes every participation of g to w, one JSON object a
// line, and returns how many it wrote.
func WriteNDJSON(w io.Writer, g *Generator) (int, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	n := 0
	for {
		rec, ok := g.Next()
		if !ok {
			break
		}
		if err := enc.Encode(rec); err != nil {
			return n, err
		}
		n++
	}
	return n, bw.Flush()
}

// writeNDJSONFile writes g's participations to path.
func writeNDJSONFile(path string, g *Generator) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	n, err := WriteNDJSON(f, g)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("write %s: %w", path, err)
	}
	return n, nil
}
