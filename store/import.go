package store

import (
	"context"
	"fmt"
	"time"

	"github.com/assentdev/assent"
)

// ImportLine is one past participation to bring in: what a campaign's form
// collected, and when.
type ImportLine struct {
	CampaignID string
	CreatedAt  time.Time
	Submission assent.Submission
	// Confirmed lists the accepted double opt-ins that the system the line
	// comes from saw confirmed. Other accepted double opt-ins are recorded
	// pending, send no email, and expire like any other.
	Confirmed []string

	checked *importCampaign // set by Check
}

// MaxImportSkew is how far in the future an imported participation may be
// dated, to allow for clocks that differ a little.
const MaxImportSkew = 5 * time.Minute

// Importer records past participations of one account in large batches:
// the same rows, ledger events and statistics as participations submitted
// one by one, but no confirmation email and no webhook.
type Importer struct {
	s         *Store
	account   accountInfo
	campaigns map[string]*importCampaign
	// unanalyzed counts the participations written since PostgreSQL last
	// refreshed its statistics of the tables an import grows.
	unanalyzed int
}

// analyzeEvery is how many imported participations make PostgreSQL's
// planner statistics stale enough to refresh: autovacuum lags behind a
// bulk load, and a planner that still thinks the consents table small
// reads it whole to find a batch's participants.
const analyzeEvery = 250_000

// importCampaign is a campaign with its form, read once per import.
type importCampaign struct {
	campaign assent.Campaign
	form     []assent.Optin
}

// NewImporter returns an Importer for the account.
func (s *Store) NewImporter(ctx context.Context, accountID string) (*Importer, error) {
	a, err := s.accountInfo(ctx, s.rdb, accountID)
	if err != nil {
		return nil, wrap("import", err)
	}
	return &Importer{s: s, account: a, campaigns: map[string]*importCampaign{}}, nil
}

// Check validates a line as the API would validate the participation at
// the time the line gives, and normalises it. A refused line is EINVALID,
// naming each problem under its field (created_at, campaign_id, email,
// answers.<opt-in id>, confirmed…). Check runs in one goroutine at a time;
// Write may run in another.
func (im *Importer) Check(ctx context.Context, line *ImportLine) error {
	p := assent.Problems{}
	switch {
	case line.CreatedAt.IsZero():
		p.Add("created_at", "is required")
	case line.CreatedAt.After(im.s.now().Add(MaxImportSkew)):
		p.Add("created_at", "is in the future")
	}
	if line.CampaignID == "" {
		p.Add("campaign_id", "is required")
	}
	if err := p.Err(); err != nil {
		return err
	}
	c, err := im.campaign(ctx, line.CampaignID)
	if err != nil {
		return err
	}
	line.checked = c
	sub := &line.Submission
	sub.Normalize()
	sub.Source, sub.IdempotencyKey = assent.SourceImport, ""
	err = assent.ValidateSubmission(&c.campaign, c.form, sub, line.CreatedAt)
	p = assent.Problems{}
	if e, ok := err.(*assent.Error); ok && e.Code == assent.EINVALID {
		for field, msg := range e.Fields {
			p.Add(field, "%s", msg)
		}
	} else if err != nil {
		return err
	}
	for _, id := range line.Confirmed {
		if !confirmable(c.form, sub, id) {
			p.Add("confirmed", "%s is not a double opt-in of the form that the line accepts", id)
		}
	}
	if err := p.Err(); err != nil {
		line.checked = nil
		return err
	}
	return nil
}

// confirmable reports whether id is a double opt-in of form that sub accepts.
func confirmable(form []assent.Optin, sub *assent.Submission, id string) bool {
	for i := range form {
		if form[i].ID == id {
			answer := sub.Answers[id]
			return form[i].DoubleOptin && answer != nil && *answer
		}
	}
	return false
}

var errNoCampaign = &assent.Error{Code: assent.EINVALID, Message: "some fields are invalid",
	Fields: map[string]string{"campaign_id": "names no campaign of the account"}}

func (im *Importer) campaign(ctx context.Context, id string) (*importCampaign, error) {
	if c, ok := im.campaigns[id]; ok {
		if c == nil {
			return nil, errNoCampaign
		}
		return c, nil
	}
	c, err := im.s.Campaign(ctx, im.account.id, id)
	if assent.ErrorCode(err) == assent.ENOTFOUND {
		im.campaigns[id] = nil
		return nil, errNoCampaign
	}
	if err != nil {
		return nil, err
	}
	form, err := im.s.FormOptins(ctx, im.account.id, c.Optins)
	if err != nil {
		return nil, err
	}
	ic := &importCampaign{campaign: c, form: form}
	im.campaigns[id] = ic
	return ic, nil
}

// Write records checked lines in one transaction, in order, with their
// statistics. It returns once they are committed to disk. It runs between
// two batches of the participation writer, so that submissions and imports
// never interleave inside a transaction.
func (im *Importer) Write(ctx context.Context, lines []ImportLine) error {
	if len(lines) == 0 {
		return nil
	}
	ws := make([]*participationWrite, len(lines))
	for i := range lines {
		line := &lines[i]
		c := line.checked
		if c == nil {
			return fmt.Errorf("store: import: line %d was not checked", i)
		}
		w := &participationWrite{account: im.account, campaign: c.campaign, form: c.form, sub: line.Submission,
			at: line.CreatedAt.UTC(), imported: true}
		if len(line.Confirmed) > 0 {
			w.confirmed = map[string]bool{}
			for _, id := range line.Confirmed {
				w.confirmed[id] = true
			}
		}
		ws[i] = w
	}
	// One account: the lines are in the order commit wants them.
	var err error
	im.s.writer.between(func() {
		if err = ctx.Err(); err != nil {
			return
		}
		var results []writeResult
		if results, err = im.s.writer.commit(ws); err != nil {
			return
		}
		for i, r := range results {
			im.s.Stats.Add(im.account.id, r.fact, ws[i].at)
		}
	})
	if err != nil {
		return wrap("import", err)
	}
	if im.unanalyzed += len(lines); im.unanalyzed >= analyzeEvery {
		err = im.analyze(ctx)
	}
	return wrap("import", err)
}

// Finish ends an import: on PostgreSQL it refreshes the planner's
// statistics of the tables the import grew, so that the submissions that
// follow do not find participants by reading whole tables.
func (im *Importer) Finish(ctx context.Context) error {
	if im.unanalyzed == 0 {
		return nil
	}
	return wrap("import", im.analyze(ctx))
}

func (im *Importer) analyze(ctx context.Context) error {
	im.unanalyzed = 0
	if im.s.engine != Postgres {
		return nil
	}
	_, err := im.s.db.ExecContext(ctx, `ANALYZE participants, participations, ledger_records, consents`)
	return err
}
