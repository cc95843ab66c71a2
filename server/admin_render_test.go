package server

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/stats"
	"github.com/assentdev/assent/store"
)

// TestAdminPagesRender executes every admin template with fixture data,
// for every role and with forms in error, and checks that each page is
// whole, labels its inputs and names the problems next to the fields.
func TestAdminPagesRender(t *testing.T) {
	t.Parallel()
	s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil)), baseURL: "https://assent.example"}
	s.adminUI = s.newAdminUI(Config{})

	at := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	later := at.Add(30 * 24 * time.Hour)
	optin := assent.Optin{ID: "opt_1", Name: "Newsletter", Language: "en", Text: "Send me [news](https://e.com).\nWeekly.",
		Info: "More", LogoURL: "https://e.com/l.png", Display: assent.DisplayRadio, Mandatory: true, DoubleOptin: true,
		Variable: "news", Subcategories: []string{"weekly"}, Categories: []string{"newsletter_marketing", "legal"},
		Status: assent.StatusArchived, Version: 2, CreatedAt: at, UpdatedAt: later}
	sub := assent.Subcategory{ID: "sub_1", Name: "Weekly", Value: "weekly", Category: "newsletter_marketing"}
	builtin := assent.Subcategory{ID: "sub_0", Name: "Legal & regulations", Value: "legal", Category: "legal", Builtin: true}
	groups := []subcategoryGroup{{Category: assent.Categories[0], Purpose: "p", Items: []subcategoryRow{{Subcategory: sub, Used: 3}}},
		{Category: assent.Categories[1], Purpose: "p", Items: []subcategoryRow{{Subcategory: builtin}}}}
	campaign := campaignRow{State: campaignState{"live", "Live"}, TypeName: "Contest", FormURL: "https://assent.example/f/cmp_1", Campaign: assent.Campaign{ID: "cmp_1", Name: "Summer", Language: "en", Type: "contest", StartsAt: &at,
		EndsAt: &later, Fields: assent.FormFields{FirstName: "required", LastName: "hidden"}, Optins: []string{"opt_1", "opt_2"},
		Status: assent.StatusActive}}
	key := assent.APIKey{ID: "key_1", Name: "Site", Role: assent.RoleCollector, Prefix: "assent_abcdef", Key: "assent_secret",
		CreatedAt: at}

	code502, code200 := 502, 200
	hook := assent.WebhookEndpoint{ID: "whk_1", URL: "https://hooks.example.com/a", Events: assent.WebhookEventTypes,
		Categories: []string{"legal"}, Header: &assent.WebhookHeader{Name: "Authorization", Value: "Bearer x"}, Enabled: true,
		CreatedAt: at, LastAttemptAt: &later, LastSuccessAt: &later, LastStatusCode: &code200, PendingDeliveries: 1}
	failing := assent.WebhookEndpoint{ID: "whk_2", URL: "https://crm.example.com/hook", Events: []string{"consent.withdrawn"},
		Enabled: true, CreatedAt: at, LastAttemptAt: &later, LastSuccessAt: &at, LastStatusCode: &code502, LastError: "bad gateway",
		ConsecutiveFailures: 3, PendingDeliveries: 2, FailedDeliveries: 1}
	idle := assent.WebhookEndpoint{ID: "whk_3", URL: "http://localhost:9000/h", Events: []string{"participation.created"},
		CreatedAt: at}
	deliveries := []store.DeliveryReport{
		{ID: "dlv_1", EventID: "evt_1", EventType: "webhook.test", State: "pending", CreatedAt: later, NextAt: &later},
		{ID: "dlv_2", EventID: "evt_2", EventType: "participation.created", State: "failed", Attempts: 8, CreatedAt: at,
			LastAttemptAt: &later, LastError: "timeout"},
		{ID: "dlv_3", EventID: "evt_3", EventType: "consent.withdrawn", State: "delivered", Attempts: 1, CreatedAt: at,
			LastAttemptAt: &at, LastStatusCode: &code200},
		{ID: "dlv_4", EventID: "evt_4", EventType: "consent.expired", State: "pending", Attempts: 2, CreatedAt: at,
			LastAttemptAt: &at, LastStatusCode: &code502},
	}

	// failed returns a form showing values with a problem on each field
	// named, and one for the whole form.
	failed := func(labels []fieldLabel, fields ...string) formView {
		f := newForm(url.Values{"name": {"N"}, "subcategories": {"weekly"}, "display": {"radio"}}, labels)
		for _, name := range fields {
			f.Errors[name] = "Is wrong"
		}
		f.Errors["optins[0]"] = "Opt-in “x” is in language fr"
		f.Problem = "Something is off"
		return f
	}
	ok := func(labels []fieldLabel) formView { return newForm(nil, labels) }
	pages := map[string]func(form bool) adminData{
		"login": func(bool) adminData {
			return &loginView{adminPage: adminPage{Title: "Sign in", Form: failed(nil, "email")}, Next: "/admin", Notice: "n"}
		},
		"error": func(bool) adminData {
			return &errorView{adminPage: adminPage{Title: "Oops"}, Text: "t", Reference: "req"}
		},
		"optins": func(form bool) adminData {
			v := &optinsView{adminPage: adminPage{Title: "Opt-ins", Section: "optins"}, Languages: []choice{{"en", "English (en)", ""}},
				Statuses: []choice{{"active", "Active", ""}}, Cats: categoryChoices(), Next: "/admin/optins?cursor=x", First: "/admin/optins"}
			if form {
				v.Optins, v.Filter, v.Subcategory = []assent.Optin{optin}, store.OptinFilter{Status: "active", Language: "en", Category: "legal", Subcategory: "weekly"}, "Weekly"
			}
			return v
		},
		"optin": func(bool) adminData {
			return &optinView{adminPage: adminPage{Title: "N", Section: "optins"}, Optin: optin,
				Versions:      []assent.OptinVersion{optin.VersionOf(), {Version: 1, Text: "Old", Display: "checkbox"}},
				Subcategories: []assent.Subcategory{sub}}
		},
		"optin_form": func(form bool) adminData {
			v := &optinFormView{adminPage: adminPage{Title: "New", Form: ok(optinLabels)}, Groups: groups, Languages: languageSuggestions}
			if form {
				v.Optin, v.Form = &optin, failed(optinLabels, "name", "text", "display", "subcategories", "variable", "logo_url", "language")
			}
			return v
		},
		"subcategories": func(form bool) adminData {
			v := &subcategoriesView{adminPage: adminPage{Title: "Subcategories", Form: ok(subcategoryLabels)}, Groups: groups,
				Custom: 1, Max: 100, Categories: categoryChoices()}
			if form {
				v.Form = failed(subcategoryLabels, "name", "value", "category")
			}
			return v
		},
		"subcategories-refused": func(form bool) adminData {
			v := &subcategoriesView{adminPage: adminPage{Title: "Subcategories", Form: ok(subcategoryLabels)}, Groups: groups,
				Custom: 100, Max: 100, Categories: categoryChoices(), Refused: "Weekly"}
			if form {
				v.InUse = []assent.Optin{optin}
			}
			return v
		},
		"subcategory_form": func(form bool) adminData {
			v := &subcategoryFormView{adminPage: adminPage{Title: "Edit", Form: ok(subcategoryLabels)}, Subcategory: sub, Used: 2,
				Categories: categoryChoices()}
			if form {
				v.Form = failed(subcategoryLabels, "name", "value", "category")
			}
			return v
		},
		"campaigns": func(form bool) adminData {
			v := &campaignsView{adminPage: adminPage{Title: "Campaigns"}}
			if form {
				v.Campaigns, v.Next = []campaignRow{campaign}, "/admin/campaigns?cursor=x"
			}
			return v
		},
		"campaign": func(form bool) adminData {
			v := &campaignView{adminPage: adminPage{Title: "Summer"}, Campaign: campaign, Language: "English (en)"}
			if form {
				v.Optins = []assent.Optin{optin, optin}
				v.Available = []choice{{"opt_3", "Partners — Share", ""}}
			}
			return v
		},
		"campaign_form": func(form bool) adminData {
			v := s.campaignForm(nil, ok(campaignLabels))
			if form {
				v = s.campaignForm(&campaign.Campaign, failed(campaignLabels, "name", "type", "language", "starts_at", "ends_at",
					"fields.first_name", "fields.last_name"))
			}
			return v
		},
		"settings_account": func(form bool) adminData {
			v := &accountView{adminPage: adminPage{Title: "Settings", Tab: "account", Form: ok(accountLabels)},
				Account:   assent.Account{ID: "acc_1", Name: "acme", TimeZone: "Europe/Brussels", CreatedAt: at},
				TimeZones: []choice{{"UTC", "UTC", ""}, {"Europe/Brussels", "Europe/Brussels", "Europe"}, {"Europe/Paris", "Europe/Paris", "Europe"}}}
			if form {
				v.Form = failed(accountLabels, "name", "time_zone")
			}
			return v
		},
		"settings_users": func(form bool) adminData {
			v := &usersView{adminPage: adminPage{Title: "Users", Tab: "users", Form: ok(userLabels)},
				Users: []assent.User{{ID: "usr_1", Email: "ann@example.com", Name: "Ann", Role: assent.RoleAdmin, CreatedAt: at}},
				Roles: roleChoices(assent.UserRoles)}
			if form {
				v.Form = failed(userLabels, "email", "name", "role", "password")
			}
			return v
		},
		"settings_apikeys": func(form bool) adminData {
			v := &apiKeysView{adminPage: adminPage{Title: "API keys", Tab: "apikeys", Form: ok(apiKeyLabels)},
				Roles: roleChoices(assent.Roles)}
			if form {
				v.Keys, v.Created, v.Form = []assent.APIKey{key}, &key, failed(apiKeyLabels, "name", "role")
			}
			return v
		},
		"settings_webhooks": func(form bool) adminData {
			v := &webhooksView{adminPage: adminPage{Title: "Webhooks", Tab: "webhooks"}, Max: assent.MaxWebhookEndpoints}
			if form {
				for _, e := range []assent.WebhookEndpoint{hook, failing, idle} {
					v.Endpoints = append(v.Endpoints, webhookRow{WebhookEndpoint: e, Health: healthOf(e)})
				}
			}
			return v
		},
		"webhook_form": func(form bool) adminData {
			v := newWebhookForm(nil, newForm(url.Values{"events": {"participation.created"}, "enabled": {"on"}}, webhookLabels))
			if form {
				f := newForm(webhookValues(hook), webhookLabels)
				for _, name := range []string{"url", "events", "categories", "header.name", "header.value"} {
					f.Errors[name] = "Is wrong"
				}
				v = newWebhookForm(&hook, f)
			}
			return v
		},
		"webhook": func(form bool) adminData {
			v := &webhookView{adminPage: adminPage{Title: "hooks.example.com", Tab: "webhooks"},
				Endpoint: webhookRow{WebhookEndpoint: idle, Health: healthOf(idle)}}
			if form {
				v.Endpoint = webhookRow{WebhookEndpoint: failing, Health: healthOf(failing)}
				v.Secret, v.Next, v.First = "whsec_abc", "/admin/settings/webhooks/whk_2?cursor=x#log", "/admin/settings/webhooks/whk_2#log"
				for _, d := range deliveries {
					v.Deliveries = append(v.Deliveries, deliveryRow{DeliveryReport: d, StateLabel: deliveryStateLabels[d.State]})
				}
			}
			return v
		},
		"password": func(form bool) adminData {
			v := &passwordView{adminPage{Title: "Your password", Section: "password", Form: ok(passwordLabels)}}
			if form {
				v.Form = failed(passwordLabels, "current_password", "password", "password_confirm")
			}
			return v
		},
	}
	// The statistics pages, with figures, null rates and series, or empty.
	rate := 0.4567
	confirmed := int64(1234)
	stat := stats.Stat{Displays: 12345, Conversions: 5638, Rate: &rate}
	cats := []stats.CategoryStat{{Key: "newsletter_marketing", Name: "Newsletter & marketing", Stat: stat,
		Subcategories: []stats.SubcategoryStat{{Value: "weekly", Name: "Weekly", Stat: stat}}}, {Key: "legal", Name: "Legal"}}
	series := []stats.SeriesStat{{Start: "2026-11-01", Participations: 3, Categories: map[string]stats.Stat{"newsletter_marketing": stat}},
		{Start: "2026-11-02", Categories: map[string]stats.Stat{}}, {Start: "2026-11-03", Participations: 1234567,
			Categories: map[string]stats.Stat{"newsletter_marketing": stat}}}
	header := stats.Header{From: "2026-11-01", To: "2026-11-03", TimeZone: "Europe/Brussels", AsOf: &at}
	statsForm := func(form bool, fields ...string) formView {
		f := newForm(url.Values{"from": {"2026-11-01"}}, statsLabels)
		if form {
			for _, name := range fields {
				f.Errors[name] = "Is wrong"
			}
			f.Errors["period"] = "Must be one of today"
		}
		return f
	}
	controls := func(r stats.Header, interval stats.Interval) statsControls {
		return newStatsControls(httptest.NewRequest("GET", "/admin/x?campaign=c&from=2026-11-01&to=2026-11-03", nil), "/admin/x", r,
			interval, insightsFilters)
	}
	pages["campaign_stats"] = func(form bool) adminData {
		v := &campaignStatsView{adminPage: adminPage{Title: "Dashboard", Section: "campaigns", Form: statsForm(form, "from", "to", "interval")},
			Campaign: campaign, Controls: controls(stats.Header{From: "2026-11-01", To: "2026-11-03"}, stats.IntervalDay),
			Report: stats.CampaignReport{Categories: cats[1:]}}
		if form {
			v.Report = stats.CampaignReport{Header: header, Participations: 1234567, UniqueParticipants: 1000, NewParticipants: 999,
				Optins:     []stats.OptinStat{{ID: "opt_1", Name: "News", Stat: stat, Confirmed: &confirmed}, {ID: "opt_2", Name: "Rules"}},
				Categories: cats, Series: series, Interval: stats.IntervalDay}
			v.Controls = controls(header, stats.IntervalDay)
		}
		v.Chart = seriesChart("chart", "Participations", v.Report.Interval, v.Report.Series,
			func(p stats.SeriesStat) int64 { return p.Participations }, "Participations", "newsletter_marketing")
		return v
	}
	pages["insights"] = func(form bool) adminData {
		v := &insightsView{adminPage: adminPage{Title: "Insights", Section: "insights",
			Form: statsForm(form, "from", "to", "interval", "campaign", "optin", "category", "subcategory", "language", "participants")},
			Controls: controls(stats.Header{From: "2026-11-01", To: "2026-11-03"}, stats.IntervalWeek), Categories: categoryChoices(),
			Report: stats.OptinReport{Filters: stats.Filters{Participants: "all"}, Categories: cats}}
		if form {
			v.Report = stats.OptinReport{Header: header, Interval: stats.IntervalWeek, Participations: 5, Categories: cats,
				Filters:    stats.Filters{Campaign: "cmp_1", Subcategory: "weekly", Participants: "new"},
				Optins:     []stats.OptinStat{{ID: "opt_1", Name: "News", Stat: stat}},
				ByCampaign: []stats.CampaignOptinStat{{CampaignID: "cmp_1", CampaignName: "Summer", OptinID: "opt_1", OptinName: "News", Stat: stat}},
				Series:     series}
			v.Campaigns, v.Optins = []choice{{"cmp_1", "Summer", ""}}, []choice{{"opt_1", "News (en)", ""}}
			v.Subcategories = []choice{{"weekly", "Weekly", "Newsletter & marketing"}, {"legal", "Legal", "Legal"}}
			v.Languages, v.Filtered = []choice{{"en", "English (en)", ""}}, true
		}
		for _, c := range assent.Categories {
			v.Charts = append(v.Charts, seriesChart("chart-"+c.Key, c.Name, v.Report.Interval, v.Report.Series,
				func(p stats.SeriesStat) int64 { return p.Categories[c.Key].Conversions }, "Conversions", c.Key))
		}
		return v
	}
	pages["global_stats"] = func(form bool) adminData {
		v := &globalStatsView{adminPage: adminPage{Title: "Global stats", Section: "stats", Form: statsForm(form, "from", "to")},
			Controls: controls(stats.Header{From: "2026-11-01", To: "2026-11-03"}, ""), Report: stats.GlobalReport{Categories: cats[1:]}}
		if form {
			v.Report = stats.GlobalReport{Header: header, Participations: 7, MarketingOptinRate: &rate, Marketing: stat, Categories: cats,
				TopCampaigns: []stats.TopCampaign{{ID: "cmp_1", Name: "Summer", Participations: 7, MarketingRate: &rate}, {ID: "cmp_2", Name: "Winter"}}}
			v.Trend = seriesChart("trend", "Trend", stats.IntervalMonth, series, nil, "", "newsletter_marketing")
		}
		return v
	}
	shown := assent.OptinVersion{Version: 2, Language: "en", Text: "Send me [news](https://e.com).", Info: "More", Display: "radio", Mandatory: true}
	person := assent.Participant{ID: "par_1", Email: "ada@example.com", FirstName: "Ada", LastName: "L", CreatedAt: at,
		Consents: []assent.Consent{{OptinID: "opt_1", OptinName: "Newsletter", State: assent.StateGiven, Since: at},
			{OptinID: "opt_2", OptinName: "Rules", State: assent.StateWithdrawn, Since: later}}}
	pages["participants"] = func(form bool) adminData {
		v := &participantsView{adminPage: adminPage{Title: "Participants", Section: "participants", Form: ok(participantSearchLabels)}}
		if form {
			v.NotFound = "bob@example.com"
			v.Form = failed(participantSearchLabels, "email")
		}
		return v
	}
	pages["participant"] = func(form bool) adminData {
		v := &participantView{adminPage: adminPage{Title: "Ada", Section: "participants"}, Participant: person}
		if form {
			v.Participant.ErasedAt, v.Participant.Email, v.Participant.FirstName = &later, "", ""
			v.Consents, v.Withdrawable = []consentRow{{Consent: person.Consents[0], Label: "Given", Withdrawable: true},
				{Consent: person.Consents[1], Label: "Withdrawn"}}, true
			v.Events = []eventRow{{ProofEvent: assent.ProofEvent{ConsentEvent: assent.ConsentEvent{Seq: 1, OptinID: "opt_1", OptinVersion: 2,
				Type: assent.EventGiven, CampaignID: "cmp_1", Source: "form", IPHash: "abc", CreatedAt: at, Hash: "h"},
				OptinName: "Newsletter", CampaignName: "Summer", Shown: shown}, Label: "Accepted", SourceLabel: "Public form", Answer: true,
				Text: richText(shown.Text, localeFor("en"), false), Info: richText("More", localeFor("en"), true), Displayed: "Yes / no buttons"},
				{ProofEvent: assent.ProofEvent{ConsentEvent: assent.ConsentEvent{Seq: 2, OptinID: "opt_2", Type: assent.EventWithdrawn,
					Source: "api", CreatedAt: later}, OptinName: "Rules"}, Label: "Withdrawn", SourceLabel: "API"}}
			v.Participations = []participationRow{{Participation: assent.Participation{ID: "pat_1", CampaignID: "cmp_1", CreatedAt: at,
				UserAgent: "UA", IPHash: "abc", UTM: assent.UTM{Source: "s", Campaign: "c"}, Source: "form", NewParticipant: true},
				CampaignName: "Summer", SourceLabel: "Public form", Form: []formRow{{0, "opt_1", "Newsletter", 2, "Yes"}, {1, "opt_2", "Rules", 1, "No"}}}}
			v.Confirmations = []assent.Confirmation{{ID: "cnf_1", CreatedAt: at, ExpiresAt: later, SentAt: &at, ConfirmedAt: &at, ExpiredAt: &later}}
		}
		return v
	}
	pages["participant_erase"] = func(form bool) adminData {
		v := &eraseView{adminPage: adminPage{Title: "Erase", Section: "participants", Form: ok(eraseLabels)}, Participant: person}
		if form {
			v.Form = failed(eraseLabels, "confirm")
		}
		return v
	}
	pages["participant_erase-refused"] = func(bool) adminData {
		v := &eraseView{adminPage: adminPage{Title: "Erase", Section: "participants", Form: ok(eraseLabels)}, Participant: person}
		v.Participant.ErasedAt = &later
		return v
	}
	pages["audience"] = func(form bool) adminData {
		v := &audienceView{adminPage: adminPage{Title: "Audience", Section: "optins"}, Optin: optin, State: assent.StateGiven,
			States: []choice{{"given", "Given", ""}, {"pending", "Pending", ""}}, CSV: "/admin/optins/opt_1/audience?format=csv"}
		if form {
			v.State, v.Next, v.First = assent.StatePending, "/admin/optins/opt_1/audience?cursor=x", "/admin/optins/opt_1/audience"
			v.Members = []store.AudienceMember{{ParticipantID: "par_1", Email: "ada@example.com", FirstName: "Ada", State: "pending", AddedAt: at}}
		}
		return v
	}
	for _, name := range adminPages {
		if pages[name] == nil && pages[name+"-refused"] == nil {
			t.Errorf("page %s has no fixture", name)
		}
	}
	inputID := regexp.MustCompile(`<(?:input|select|textarea)[^>]*\sid="([^"]+)"`)
	for name, data := range pages {
		for _, role := range assent.UserRoles {
			for _, form := range []bool{false, true} {
				sess := assent.Session{ID: "s", UserID: "usr_1", User: assent.User{ID: "usr_1", Email: "ann@example.com", Role: role},
					Account: assent.Account{Name: "acme", TimeZone: "Europe/Brussels"}}
				r := httptest.NewRequest("GET", "/admin", nil)
				if name != "login" {
					r = r.WithContext(context.WithValue(r.Context(), keySession, sess))
				}
				w := httptest.NewRecorder()
				d := data(form)
				page, _, _ := strings.Cut(name, "-")
				s.adminRender(w, r, 200, page, d)
				body := w.Body.String()
				what := name + " as " + string(role)
				if form {
					what += " with data"
				}
				if w.Code != 200 || !strings.HasSuffix(strings.TrimSpace(body), "</html>") {
					t.Errorf("%s: got status %d:\n%s", what, w.Code, body)
					continue
				}
				for _, m := range inputID.FindAllStringSubmatch(body, -1) {
					tag := m[0]
					if strings.Contains(tag, `type="hidden"`) {
						continue
					}
					if !strings.Contains(body, `<label for="`+m[1]+`"`) {
						t.Errorf("%s: input %s has no label", what, m[1])
					}
				}
				// Every field shown has its problem next to it, and points to it;
				// an admin sees every field of the page.
				for field := range d.base().Form.Errors {
					if _, labelled := d.base().Form.Labels[field]; labelled && role == assent.RoleAdmin && name != "subcategories-refused" &&
						!strings.Contains(body, ` id="`+fieldID(field)+`"`) {
						t.Errorf("%s: field %s is not on the page", what, field)
					}
					id := fieldID(field)
					if _, ok := d.base().Form.Labels[field]; !ok || !strings.Contains(body, ` id="`+id+`"`) {
						continue
					}
					if !strings.Contains(body, `id="`+id+`-error"`) {
						t.Errorf("%s: no problem shown next to %s", what, field)
					}
					if !regexp.MustCompile(`aria-describedby="[^"]*` + regexp.QuoteMeta(id) + `-error`).MatchString(body) {
						t.Errorf("%s: %s does not name its problem in aria-describedby", what, field)
					}
				}
				if name != "login" && strings.Contains(body, "Settings</a>") != (role == assent.RoleAdmin) {
					t.Errorf("%s: the Settings link shows %v, want %v", what, !(role == assent.RoleAdmin), role == assent.RoleAdmin)
				}
			}
		}
	}
	if !slices.Contains(adminPages, "login") {
		t.Error("no login page")
	}
}

// TestFormSummaryOrder checks that the problems on top of a form come in
// the order of its fields, then those of what the form does not show.
func TestFormSummaryOrder(t *testing.T) {
	t.Parallel()
	f := newForm(nil, optinLabels)
	for _, name := range []string{"subcategories", "name", "optins[0]", "text"} {
		f.Errors[name] = "Is wrong"
	}
	var got []string
	for _, l := range f.Summary() {
		got = append(got, l.Target+" "+l.Message)
	}
	want := []string{"name Internal name: is wrong", "text Consent text: is wrong", "subcategories Subcategories: is wrong", " Is wrong"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestStatsFormatting checks how the statistics pages write numbers, and
// the scales and intervals their charts pick.
func TestStatsFormatting(t *testing.T) {
	t.Parallel()
	third, one := 1.0/3, 1.0
	for _, tc := range []struct{ got, want string }{
		{formatCount(0), "0"}, {formatCount(999), "999"}, {formatCount(1000), "1,000"}, {formatCount(1234567), "1,234,567"},
		{formatCount(-12345), "-12,345"}, {formatRate(nil), "—"}, {formatRate(&third), "33.3%"}, {formatRate(&one), "100.0%"},
		{formatDay("2026-11-05"), "5 Nov 2026"}, {intervalLabel(stats.IntervalMonth, "2026-11-01"), "Nov 2026"},
		{intervalLabel(stats.IntervalWeek, "2026-11-02"), "Week of 2 Nov"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	for n, want := range map[int64]int64{0: 4, 3: 4, 5: 8, 9: 20, 41: 80, 1234: 2000, 1234567: 2000000} {
		if got := niceCeil(n); got != want {
			t.Errorf("niceCeil(%d): got %d, want %d", n, got, want)
		}
	}
	for days, want := range map[stats.Day]stats.Interval{7: stats.IntervalDay, 62: stats.IntervalDay, 90: stats.IntervalWeek,
		365: stats.IntervalMonth} {
		if got := autoInterval(100, 100+days-1); got != want {
			t.Errorf("%d days: got interval %s, want %s", days, got, want)
		}
	}
	// A null rate breaks the line; an empty series says so.
	rate := 0.5
	series := []stats.SeriesStat{{Start: "2026-11-01", Participations: 2, Categories: map[string]stats.Stat{"legal": {Rate: &rate}}},
		{Start: "2026-11-02", Categories: map[string]stats.Stat{}},
		{Start: "2026-11-03", Participations: 1, Categories: map[string]stats.Stat{"legal": {Rate: &rate}}}}
	c := seriesChart("c", "T", stats.IntervalDay, series, func(p stats.SeriesStat) int64 { return p.Participations }, "Participations", "legal")
	if len(c.Lines) != 2 || len(c.Bars) != 2 || len(c.Rows) != 3 || c.Empty {
		t.Errorf("got %d lines, %d bars, %d rows, empty %v; want 2, 2, 3, false", len(c.Lines), len(c.Bars), len(c.Rows), c.Empty)
	}
	if c := seriesChart("c", "T", stats.IntervalDay, series[1:2], nil, "", "legal"); !c.Empty {
		t.Error("a series with nothing: want it empty")
	}
}
