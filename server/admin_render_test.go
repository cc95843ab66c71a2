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
