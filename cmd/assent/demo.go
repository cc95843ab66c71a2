package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/server"
	"github.com/assentdev/assent/store"
)

// demoEmail is the admin user that "assent demo" creates.
const demoEmail = "demo@example.com"

// demo serves a throwaway database filled with realistic demo data, removed
// when the service stops.
func (e env) demo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	listen := fs.String("listen", ":8080", "address to listen on")
	n := fs.Int("participations", 20000, "how many participations to generate over the last year")
	seed := fs.Uint64("seed", 1, "seed of the generator: the same seed gives the same data")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if *n < 0 {
		return usageError{"-participations must not be negative"}
	}
	log, err := e.logger("text")
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "assent-demo-")
	if err != nil {
		return err
	}
	defer func() {
		os.RemoveAll(dir)
		log.Info("removed the demo database", "dir", dir)
	}()
	path := filepath.Join(dir, "assent.db")
	log.Info("demo database", "path", path)
	st, err := e.open(ctx, "sqlite:"+path, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	// The database is thrown away: its commits need not reach the disk.
	if err := st.RelaxDurability(ctx); err != nil {
		return err
	}

	start := time.Now()
	step := max(*n/10, 1)
	next := step
	sum, err := generateDemo(ctx, st, demoConfig{Participations: *n, Seed: *seed, Progress: func(done int) {
		if done >= next || done == *n {
			fmt.Fprintf(e.stderr, "generating demo data: %d/%d participations\n", done, *n)
			for next <= done {
				next += step
			}
		}
	}})
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while generating
		}
		return fmt.Errorf("generate demo data: %w", err)
	}
	fmt.Fprintf(e.stderr, "generated demo data in %s: %d campaigns, %d opt-ins, %d participations by %d participants, "+
		"%d double opt-ins confirmed, %d withdrawals\n", time.Since(start).Round(time.Millisecond), sum.Campaigns,
		sum.Optins, sum.Participations, sum.Participants, sum.Confirmed, sum.Withdrawals)

	password := assent.RandomToken(10)
	if _, err := st.CreateUser(ctx, sum.AccountID, demoEmail, "Demo admin", assent.RoleAdmin, password); err != nil {
		return err
	}
	return e.serveStore(ctx, st, log, serverOptions{listen: *listen, formRate: server.DefaultFormRateLimit.Requests,
		smtpFrom: "assent@localhost", ready: func(baseURL string) {
			fmt.Fprintf(e.stdout, "\nAssent demo: %s/admin\nSign in as %s with the password %s\n"+
				"The demo database is thrown away when you stop it (Ctrl-C).\n\n", baseURL, demoEmail, password)
		}})
}

// demoConfig says what generateDemo makes.
type demoConfig struct {
	Participations int
	Seed           uint64
	// Now is the end of the year the data covers; zero means time.Now().
	Now time.Time
	// Progress, when set, is called after each day with the number of
	// participations written so far.
	Progress func(done int)
}

// demoSummary counts what generateDemo made.
type demoSummary struct {
	AccountID                                 string
	Subcategories, Optins, Campaigns          int
	Participations, Participants              int
	Accepted, Confirmed, Withdrawals, Refused int
}

// demoOptin is an opt-in of the demo and its acceptance rate range.
type demoOptin struct {
	key     string
	o       assent.Optin
	lo, hi  float64 // acceptance rate drawn per campaign in [lo, hi]
	blank   float64 // share of radio answers left blank
	confirm float64 // share of double opt-ins confirmed
}

// demoCampaign is a campaign of the demo: its window in days before now
// (end 0 means still open) and its popularity rank.
type demoCampaign struct {
	c          assent.Campaign
	optins     []string // keys of demoOptins
	start, end int      // days ago
	rank       int
	launch     float64 // extra weight in the first days
}

var demoSubcategories = []assent.Subcategory{
	{Name: "Weekly news", Value: "weekly-news", Category: assent.CategoryNewsletterMarketing},
	{Name: "Flash sales", Value: "flash-sales", Category: assent.CategoryNewsletterMarketing},
	{Name: "SMS offers", Value: "sms-offers", Category: assent.CategoryNewsletterMarketing},
	{Name: "Contest rules", Value: "contest-rules", Category: assent.CategoryLegal},
	{Name: "Privacy policy", Value: "privacy-policy", Category: assent.CategoryLegal},
	{Name: "Travel partners", Value: "partner-travel", Category: assent.CategoryPartners},
	{Name: "Telecom partners", Value: "partner-telecom", Category: assent.CategoryPartners},
	{Name: "Surveys", Value: "surveys", Category: assent.CategoryOthers},
}

func demoOptins() []demoOptin {
	cb, radio := assent.DisplayCheckbox, assent.DisplayRadio
	o := func(name, lang, display, text, info string, mandatory, double bool, variable string, subs ...string) assent.Optin {
		return assent.Optin{Name: name, Language: lang, Display: display, Text: text, Info: info, Mandatory: mandatory,
			DoubleOptin: double, Variable: variable, Subcategories: subs}
	}
	return []demoOptin{
		{key: "news-en", lo: 0.35, hi: 0.60, confirm: 0.85, o: o("Weekly newsletter (en)", "en", cb,
			"Send me the weekly newsletter with news, tips and offers. I can unsubscribe at any time.",
			"One email a week, never more. Every email has an unsubscribe link.", false, true, "newsletter_en", "weekly-news")},
		{key: "flash-en", lo: 0.20, hi: 0.40, o: o("Flash sales (en)", "en", cb,
			"Tell me by email about flash sales and exclusive discounts.", "", false, false, "flash_sales_en", "flash-sales")},
		{key: "sms-en", lo: 0.10, hi: 0.22, blank: 0.15, confirm: 0.75, o: o("SMS offers (en)", "en", radio,
			"Send me offers by SMS (at most two a month).", "Standard message rates apply. Reply STOP to stop.",
			false, true, "sms_en", "sms-offers")},
		{key: "rules-en", lo: 1, hi: 1, o: o("Contest rules (en)", "en", cb,
			"I have read and accept the [contest rules](https://example.com/contest-rules).", "", true, false, "", "contest-rules")},
		{key: "privacy-en", lo: 1, hi: 1, o: o("Privacy policy (en)", "en", cb,
			"I have read the [privacy policy](https://example.com/privacy) and agree that my data is processed to run this campaign.",
			"", true, false, "", "privacy-policy")},
		{key: "partners-en", lo: 0.10, hi: 0.25, o: o("Partner offers (en)", "en", cb,
			"Share my details with our [travel and telecom partners](https://example.com/partners) so that they can send me their offers.",
			"Our partners are listed on the linked page. They receive your name and email address only.",
			false, false, "partners_en", "partner-travel", "partner-telecom")},
		{key: "survey-en", lo: 0.30, hi: 0.50, blank: 0.25, o: o("Survey follow-up (en)", "en", radio,
			"May we contact you for a short follow-up survey?", "", false, false, "survey_en", "surveys")},
		{key: "news-fr", lo: 0.35, hi: 0.60, confirm: 0.85, o: o("Newsletter hebdomadaire (fr)", "fr", cb,
			"Envoyez-moi la newsletter hebdomadaire : actualités, conseils et offres. Je peux me désinscrire à tout moment.",
			"Un email par semaine, jamais plus. Chaque email contient un lien de désinscription.", false, true, "newsletter_fr",
			"weekly-news")},
		{key: "flash-fr", lo: 0.20, hi: 0.40, o: o("Ventes flash (fr)", "fr", cb,
			"Prévenez-moi par email des ventes flash et des réductions exclusives.", "", false, false, "flash_sales_fr",
			"flash-sales")},
		{key: "rules-fr", lo: 1, hi: 1, o: o("Règlement du concours (fr)", "fr", cb,
			"J'ai lu et j'accepte le [règlement du concours](https://example.com/fr/reglement).", "", true, false, "",
			"contest-rules")},
		{key: "privacy-fr", lo: 1, hi: 1, o: o("Politique de confidentialité (fr)", "fr", cb,
			"J'ai lu la [politique de confidentialité](https://example.com/fr/vie-privee) et j'accepte le traitement de mes données pour cette campagne.",
			"", true, false, "", "privacy-policy")},
		{key: "telecom-fr", lo: 0.10, hi: 0.20, blank: 0.20, confirm: 0.7, o: o("Partenaires télécom (fr)", "fr", radio,
			"Je souhaite recevoir les offres de nos [partenaires télécom](https://example.com/fr/partenaires).",
			"Nos partenaires reçoivent uniquement votre nom et votre adresse email.", false, true, "telecom_fr",
			"partner-telecom")},
		{key: "travel-fr", lo: 0.12, hi: 0.25, o: o("Partenaires voyage (fr)", "fr", cb,
			"Je souhaite recevoir les offres de nos partenaires voyage.", "", false, false, "travel_fr", "partner-travel")},
	}
}

func demoCampaigns() []demoCampaign {
	c := func(name, lang, typ, first, last string) assent.Campaign {
		return assent.Campaign{Name: name, Language: lang, Type: typ, Fields: assent.FormFields{FirstName: first, LastName: last}}
	}
	req, opt, hid := assent.FieldRequired, assent.FieldOptional, assent.FieldHidden
	return []demoCampaign{
		{c: c("Newsletter sign-up", "en", "signup", opt, hid), optins: []string{"privacy-en", "news-en", "flash-en"},
			start: 365, rank: 1},
		{c: c("Inscription à la newsletter", "fr", "signup", opt, hid), optins: []string{"privacy-fr", "news-fr", "flash-fr"},
			start: 365, rank: 2},
		{c: c("Summer contest 2026", "en", "contest", req, req),
			optins: []string{"rules-en", "privacy-en", "news-en", "partners-en", "sms-en"}, start: 160, end: 90, rank: 1, launch: 3},
		{c: c("Grand concours de Noël", "fr", "contest", req, req),
			optins: []string{"rules-fr", "privacy-fr", "news-fr", "telecom-fr", "travel-fr"}, start: 25, rank: 1, launch: 4},
		{c: c("Customer satisfaction survey", "en", "survey", opt, opt), optins: []string{"privacy-en", "survey-en"},
			start: 240, end: 200, rank: 4, launch: 2},
		{c: c("Quiz : quel voyageur êtes-vous ?", "fr", "quiz", req, opt),
			optins: []string{"privacy-fr", "travel-fr", "news-fr"}, start: 300, rank: 3, launch: 2},
		{c: c("Black Friday early access", "en", "signup", req, hid), optins: []string{"privacy-en", "flash-en", "sms-en", "news-en"},
			start: 12, rank: 2, launch: 5},
		{c: c("Sondage : vos vacances idéales", "fr", "poll", opt, opt), optins: []string{"privacy-fr", "travel-fr"},
			start: 330, end: 270, rank: 5, launch: 1},
	}
}

var (
	demoFirstNames = []string{"Emma", "Louis", "Olivia", "Lucas", "Léa", "Noah", "Chloé", "Arthur", "Camille", "Jules",
		"Sophie", "Thomas", "Julie", "Hugo", "Sarah", "Nathan", "Laura", "Adam", "Marie", "Victor", "James", "Amelia",
		"Oliver", "Isla", "Jack", "Mia", "Harry", "Grace", "Liam", "Ella", "Lina", "Elias", "Nora", "Maxime", "Inès"}
	demoLastNames = []string{"Peeters", "Janssens", "Maes", "Jacobs", "Dubois", "Lambert", "Martin", "Dupont", "Simon",
		"Laurent", "Leroy", "Lefèvre", "Mertens", "Willems", "Claes", "Goossens", "Smith", "Brown", "Taylor", "Wilson",
		"Davies", "Evans", "Moreau", "Renard", "Fontaine", "Wouters", "De Smet", "Hermans", "Michel", "Girard"}
	demoDomains    = []string{"example.com", "example.net", "example.org", "mail.example", "inbox.example"}
	demoUserAgents = []string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
	}
	demoUTMs = []assent.UTM{
		{}, {},
		{Source: "newsletter", Medium: "email"},
		{Source: "facebook", Medium: "social"},
		{Source: "instagram", Medium: "social"},
		{Source: "google", Medium: "cpc", Term: "win a trip"},
		{Source: "partner-site", Medium: "referral"},
	}
)

// demoPending is a decision taken when a participation was prepared, carried
// out after that day's participations are written.
type demoPending struct {
	confirm  bool
	withdraw []string // opt-in ids to withdraw later; nil: none
	all      bool
	afterDay int
}

// demoJob is one participation to submit.
type demoJob struct {
	campaign string
	sub      assent.Submission
	pending  demoPending
	receipt  assent.Receipt
	err      error
}

// generateDemo fills the store's default account with demo data: custom
// subcategories, opt-ins, campaigns and cfg.Participations participations
// over the last year. The same seed gives the same data, up to ids, tokens
// and times within a day. It leaves st.Now as time.Now.
func generateDemo(ctx context.Context, st *store.Store, cfg demoConfig) (demoSummary, error) {
	var sum demoSummary
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x617373656e74)) // "assent"
	realNow := cfg.Now
	if realNow.IsZero() {
		realNow = time.Now()
	}
	defer func() { st.Now = time.Now }()
	acct, err := st.AccountByNameOrID(ctx, assent.DefaultAccountName)
	if err != nil {
		return sum, err
	}
	sum.AccountID = acct.ID
	if acct, err = st.UpdateAccount(ctx, acct.ID, func(a *assent.Account) { a.TimeZone = "Europe/Brussels" }); err != nil {
		return sum, err
	}
	loc, err := time.LoadLocation(acct.TimeZone)
	if err != nil {
		return sum, err
	}
	today := realNow.In(loc)
	midnight := func(daysAgo int) time.Time {
		return time.Date(today.Year(), today.Month(), today.Day()-daysAgo, 0, 0, 0, 0, loc)
	}
	at := func(t time.Time) { st.Now = func() time.Time { return t } }

	// The setup, a year and a few days ago.
	at(midnight(370).Add(9 * time.Hour))
	for _, sc := range demoSubcategories {
		if _, err := st.CreateSubcategory(ctx, acct.ID, sc); err != nil {
			return sum, fmt.Errorf("subcategory %s: %w", sc.Value, err)
		}
		sum.Subcategories++
	}
	optins := demoOptins()
	byKey := map[string]*demoOptin{}
	for i := range optins {
		o := &optins[i]
		created, err := st.CreateOptin(ctx, acct.ID, o.o)
		if err != nil {
			return sum, fmt.Errorf("opt-in %s: %w", o.o.Name, err)
		}
		o.o = created
		byKey[o.key] = o
		sum.Optins++
	}
	campaigns := demoCampaigns()
	// rates[campaign][i] is the acceptance rate of the form's i-th opt-in.
	rates := make([][]float64, len(campaigns))
	for i := range campaigns {
		dc := &campaigns[i]
		for _, k := range dc.optins {
			dc.c.Optins = append(dc.c.Optins, byKey[k].o.ID)
			o := byKey[k]
			rates[i] = append(rates[i], o.lo+rng.Float64()*(o.hi-o.lo))
		}
		startsAt := midnight(dc.start)
		dc.c.StartsAt = &startsAt
		at(startsAt.Add(-36 * time.Hour)) // prepared the day before yesterday
		created, err := st.CreateCampaign(ctx, acct.ID, dc.c)
		if err != nil {
			return sum, fmt.Errorf("campaign %s: %w", dc.c.Name, err)
		}
		dc.c = created
		sum.Campaigns++
	}

	// How many participations each day: weekly seasonality, a slow growth,
	// campaign launches and a few peaks, then the total spread exactly.
	const days = 365
	weekday := [7]float64{0.75, 1.15, 1.05, 1.0, 1.0, 0.95, 0.8} // Sunday first
	weights := make([]float64, days)
	total := 0.0
	for d := range days {
		daysAgo := days - 1 - d
		w := weekday[midnight(daysAgo).Weekday()] * (0.7 + 0.5*float64(d)/days) * (0.85 + 0.3*rng.Float64())
		for _, dc := range campaigns {
			if since := dc.start - daysAgo; since >= 0 && (dc.end == 0 || daysAgo > dc.end) {
				w += 0.15 * dc.launch * math.Exp(-float64(since)/6)
			}
		}
		weights[d] = w
		total += w
	}
	counts := make([]int, days)
	acc, given := 0.0, 0
	for d := range days {
		acc += weights[d] / total * float64(cfg.Participations)
		counts[d] = int(math.Round(acc)) - given
		given += counts[d]
	}

	pool := max(50, cfg.Participations*4/5)
	emailOf := func(i int) (string, string, string) {
		first := demoFirstNames[i%len(demoFirstNames)]
		last := demoLastNames[(i/len(demoFirstNames))%len(demoLastNames)]
		local := asciiName(first) + "." + asciiName(last)
		if i >= len(demoFirstNames)*len(demoLastNames) {
			local += fmt.Sprint(i / (len(demoFirstNames) * len(demoLastNames)))
		}
		return local + "@" + demoDomains[i%len(demoDomains)], first, last
	}
	// A pool index is shuffled so that neighbouring names are not always
	// drawn together.
	perm := rng.Perm(pool)

	withdrawals := map[int][]demoJob{} // by day
	var done int
	for d := range days {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		daysAgo := days - 1 - d
		dayStart := midnight(daysAgo)
		from, to := dayStart.Add(7*time.Hour), dayStart.Add(23*time.Hour)
		if limit := realNow.Add(-time.Minute); to.After(limit) {
			to = limit
			if from.After(to) {
				from = dayStart
			}
		}
		// The campaigns live that day and their weights (Zipf-like by rank,
		// with a boost after launch).
		var live []int
		var cw []float64
		for i, dc := range campaigns {
			if daysAgo > dc.start || (dc.end != 0 && daysAgo <= dc.end) {
				continue
			}
			live = append(live, i)
			cw = append(cw, (1/math.Pow(float64(dc.rank), 1.1))*(1+dc.launch*math.Exp(-float64(dc.start-daysAgo)/8)))
		}
		jobs := make([]demoJob, 0, counts[d])
		used := map[int]bool{}
		for range counts[d] {
			ci := live[pick(rng, cw)]
			dc := &campaigns[ci]
			var idx int
			for {
				idx = perm[int(math.Floor(math.Pow(rng.Float64(), 1.3)*float64(pool)))]
				if !used[idx] || len(used) >= pool {
					break
				}
			}
			used[idx] = true
			email, first, last := emailOf(idx)
			sub := assent.Submission{Email: email, Answers: map[string]*bool{}, UTM: demoUTMs[rng.IntN(len(demoUTMs))],
				UserAgent: demoUserAgents[rng.IntN(len(demoUserAgents))], Source: assent.SourceForm,
				IP: fmt.Sprintf("192.0.2.%d", rng.IntN(250)+1)}
			if dc.c.Fields.FirstName == assent.FieldRequired || (dc.c.Fields.FirstName == assent.FieldOptional && rng.Float64() < 0.7) {
				sub.FirstName = first
			}
			if dc.c.Fields.LastName == assent.FieldRequired || (dc.c.Fields.LastName == assent.FieldOptional && rng.Float64() < 0.6) {
				sub.LastName = last
			}
			// A slow yearly wave moves every rate a little.
			wave := 1 + 0.12*math.Sin(2*math.Pi*float64(d)/days+float64(ci))
			var job demoJob
			var acceptedOptional []string
			for i, k := range dc.optins {
				o := byKey[k]
				r := rates[ci][i]
				if !o.o.Mandatory {
					r = min(1, r*wave)
				}
				yes := rng.Float64() < r
				if o.o.Display == assent.DisplayRadio && !yes && rng.Float64() < o.blank {
					sub.Answers[o.o.ID] = nil
					continue
				}
				sub.Answers[o.o.ID] = &yes
				if yes {
					sum.Accepted++
					if !o.o.Mandatory {
						acceptedOptional = append(acceptedOptional, o.o.ID)
					}
					if o.o.DoubleOptin && rng.Float64() < o.confirm {
						job.pending.confirm = true
					}
				} else {
					sum.Refused++
				}
			}
			if len(acceptedOptional) > 0 && rng.Float64() < 0.04 {
				job.pending.afterDay = d + 1 + rng.IntN(60)
				if rng.Float64() < 0.25 {
					job.pending.all = true
				} else {
					job.pending.withdraw = []string{acceptedOptional[rng.IntN(len(acceptedOptional))]}
				}
			}
			job.campaign, job.sub = dc.c.ID, sub
			jobs = append(jobs, job)
		}

		// The clock moves on with every call: the participations spread
		// over most of the day's window (each reads it once), and what
		// follows them takes a second a call.
		var tick atomic.Int64
		after := from.Add(to.Sub(from) * 9 / 10)
		step := after.Sub(from) / time.Duration(len(jobs)+1)
		st.Now = func() time.Time { return from.Add(time.Duration(tick.Add(1)) * step) }

		// Submit the day's participations concurrently: the store commits
		// them in groups.
		var next atomic.Int64
		var wg sync.WaitGroup
		for range min(16, len(jobs)) {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= len(jobs) {
						return
					}
					j := &jobs[i]
					j.receipt, _, j.err = st.Participate(ctx, acct.ID, j.campaign, j.sub)
				}
			})
		}
		wg.Wait()
		confirm := map[string]bool{}
		for _, j := range jobs {
			if j.err != nil {
				return sum, fmt.Errorf("participate on %s: %w", dayStart.Format(time.DateOnly), j.err)
			}
			confirm[assent.NormalizeEmail(j.sub.Email)] = j.pending.confirm
			if j.pending.afterDay > 0 && j.pending.afterDay < days {
				withdrawals[j.pending.afterDay] = append(withdrawals[j.pending.afterDay], j)
			}
			if j.receipt.NewParticipant {
				sum.Participants++
			}
		}
		sum.Participations += len(jobs)

		var later atomic.Int64
		st.Now = func() time.Time {
			if t := after.Add(time.Duration(later.Add(1)) * time.Second); t.Before(to) {
				return t
			}
			return to
		}
		// Confirmation emails: most double opt-ins are confirmed the same day;
		// every email counts as sent.
		mails, err := st.DueMails(ctx, 100000)
		if err != nil {
			return sum, err
		}
		sort.Slice(mails, func(a, b int) bool { return mails[a].Recipient < mails[b].Recipient })
		for _, m := range mails {
			if confirm[m.Recipient] && m.Token != "" {
				if _, err := st.Confirm(ctx, m.Token); err != nil {
					return sum, fmt.Errorf("confirm: %w", err)
				}
				sum.Confirmed++
			}
			if err := st.MailSent(ctx, m.ID); err != nil {
				return sum, err
			}
		}
		// Withdrawals due that day, in the order they were decided.
		for _, j := range withdrawals[d] {
			if _, err := st.Withdraw(ctx, acct.ID, j.receipt.ParticipantID, j.pending.withdraw, j.pending.all,
				"preferences"); err != nil {
				return sum, fmt.Errorf("withdraw: %w", err)
			}
			sum.Withdrawals++
		}
		delete(withdrawals, d)
		if _, err := st.ExpireConfirmations(ctx); err != nil {
			return sum, err
		}
		done += len(jobs)
		if cfg.Progress != nil {
			cfg.Progress(done)
		}
	}

	// The finished campaigns end now that their participations are in.
	for _, dc := range campaigns {
		if dc.end == 0 {
			continue
		}
		endsAt := midnight(dc.end)
		at(endsAt)
		if _, err := st.UpdateCampaign(ctx, acct.ID, dc.c.ID, func(c *assent.Campaign) error {
			c.EndsAt = &endsAt
			return nil
		}); err != nil {
			return sum, fmt.Errorf("end campaign %s: %w", dc.c.Name, err)
		}
	}
	st.Now = time.Now
	if _, err := st.ExpireConfirmations(ctx); err != nil {
		return sum, err
	}
	return sum, nil
}

// pick draws an index with probability proportional to its weight.
func pick(rng *rand.Rand, weights []float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	x := rng.Float64() * total
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// asciiName lowers a name and drops what an email address would not hold.
func asciiName(s string) string {
	var b []rune
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			b = append(b, r)
		case r >= 'A' && r <= 'Z':
			b = append(b, r-'A'+'a')
		case r == 'é' || r == 'è':
			b = append(b, 'e')
		}
	}
	return string(b)
}
