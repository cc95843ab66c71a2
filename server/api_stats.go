package server

import (
	"net/http"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/stats"
)

// statsScope reads the period and interval of a report request, in the
// account's time zone, with the header every report carries.
func (s *Server) statsScope(r *http.Request) (stats.Query, stats.Header, error) {
	if err := checkFormat(r); err != nil {
		return stats.Query{}, stats.Header{}, err
	}
	loc, err := s.store.Location(r.Context(), principal(r.Context()).AccountID)
	if err != nil {
		return stats.Query{}, stats.Header{}, err
	}
	q := r.URL.Query()
	from, to, perr := stats.ParsePeriod(q.Get("period"), q.Get("from"), q.Get("to"), s.store.Now(), loc)
	interval, ierr := stats.ParseInterval(q.Get("interval"))
	if err := mergeProblems(perr, ierr); err != nil {
		return stats.Query{}, stats.Header{}, err
	}
	h := stats.NewHeader(from, to, loc.String())
	return stats.Query{From: from, To: to, Interval: interval}, h, nil
}

// mergeProblems joins the field problems of several EINVALID errors; any
// other error is returned as is.
func mergeProblems(errs ...error) error {
	p := assent.Problems{}
	for _, err := range errs {
		if err == nil {
			continue
		}
		e, ok := err.(*assent.Error)
		if !ok || e.Code != assent.EINVALID {
			return err
		}
		for f, msg := range e.Fields {
			p.Add(f, "%s", msg)
		}
	}
	return p.Err()
}

func (s *Server) apiCampaignStats(w http.ResponseWriter, r *http.Request) error {
	c, err := s.store.ReportCampaign(r.Context(), principal(r.Context()).AccountID, r.PathValue("id"))
	if err != nil {
		return err
	}
	rep, err := s.campaignReport(r, c)
	if err != nil {
		return err
	}
	if wantsCSV(r) {
		return writeCSV(w, "campaign-"+c.ID+"-stats", campaignReportRows(rep))
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// campaignReport computes the dashboard of campaign c for the period and
// interval of the request: the one computation behind the API, the admin
// page and both exports.
func (s *Server) campaignReport(r *http.Request, c assent.Campaign) (stats.CampaignReport, error) {
	accountID := principal(r.Context()).AccountID
	q, h, err := s.statsScope(r)
	if err != nil {
		return stats.CampaignReport{}, err
	}
	meta, err := s.store.StatsMeta(r.Context(), accountID)
	if err != nil {
		return stats.CampaignReport{}, err
	}
	q.Campaigns = map[string]bool{c.ID: true}
	return meta.NewCampaignReport(c.ID, h, q.Interval, s.store.Stats.Query(accountID, meta.Catalog(), q)), nil
}

func (s *Server) apiOptinStats(w http.ResponseWriter, r *http.Request) error {
	rep, _, err := s.optinReport(r)
	if err != nil {
		return err
	}
	if wantsCSV(r) {
		return writeCSV(w, "optin-stats", optinReportRows(rep))
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// optinReport computes the opt-in stats for the period, interval and
// filters of the request, and returns them with what they name.
func (s *Server) optinReport(r *http.Request) (stats.OptinReport, stats.Meta, error) {
	accountID := principal(r.Context()).AccountID
	q, h, err := s.statsScope(r)
	if err != nil {
		return stats.OptinReport{}, stats.Meta{}, err
	}
	meta, err := s.store.StatsMeta(r.Context(), accountID)
	if err != nil {
		return stats.OptinReport{}, stats.Meta{}, err
	}
	v := r.URL.Query()
	f := stats.Filters{Campaign: v.Get("campaign"), Optin: v.Get("optin"), Category: v.Get("category"),
		Subcategory: v.Get("subcategory"), Language: v.Get("language"), Participants: v.Get("participants")}
	p := assent.Problems{}
	if _, ok := meta.Campaigns[f.Campaign]; f.Campaign != "" && !ok {
		p.Add("campaign", "no campaign has the id %q", f.Campaign)
	}
	if _, ok := meta.Optins[f.Optin]; f.Optin != "" && !ok {
		p.Add("optin", "no opt-in has the id %q", f.Optin)
	}
	if f.Category != "" && assent.CategoryIndex(f.Category) < 0 {
		p.Add("category", "must be one of newsletter_marketing, legal, partners, others")
	}
	if f.Subcategory != "" && !hasSubcategory(meta, f.Subcategory) {
		p.Add("subcategory", "no subcategory has the value %q", f.Subcategory)
	}
	if f.Language != "" {
		tag, err := assent.CanonicalLanguage(f.Language)
		if err != nil {
			p.Add("language", "must be a BCP 47 language tag such as en, fr or nl-BE")
		}
		f.Language = tag
	}
	switch f.Participants {
	case "":
		f.Participants = "all"
	case "all", "new":
	default:
		p.Add("participants", "must be all or new")
	}
	if err := p.Err(); err != nil {
		return stats.OptinReport{}, meta, err
	}
	q.Campaigns, q.Focus, q.NewOnly = meta.CampaignsOf(f), meta.Focus(f), f.Participants == "new"
	return meta.NewOptinReport(h, q.Interval, f, s.store.Stats.Query(accountID, meta.Catalog(), q)), meta, nil
}

func hasSubcategory(m stats.Meta, value string) bool {
	for _, sc := range m.Subcategories {
		if sc.Value == value {
			return true
		}
	}
	return false
}

func (s *Server) apiGlobalStats(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.globalReport(r)
	if err != nil {
		return err
	}
	if wantsCSV(r) {
		return writeCSV(w, "global-stats", globalReportRows(rep))
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// globalReport computes the global stats for the period of the request.
func (s *Server) globalReport(r *http.Request) (stats.GlobalReport, error) {
	accountID := principal(r.Context()).AccountID
	q, h, err := s.statsScope(r)
	if err != nil {
		return stats.GlobalReport{}, err
	}
	q.Interval = "" // the global stats have no series
	meta, err := s.store.StatsMeta(r.Context(), accountID)
	if err != nil {
		return stats.GlobalReport{}, err
	}
	return meta.NewGlobalReport(h, s.store.Stats.Query(accountID, meta.Catalog(), q)), nil
}
