package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/server"
	"github.com/assentdev/assent/webhook"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// testBrowser returns the Chromium that browser tests drive: the one of
// ASSENT_TEST_BROWSER, or /usr/bin/chromium. Without one the test fails on
// CI, where it must run, and is skipped elsewhere; either way it says how
// to install one.
func testBrowser(t *testing.T) string {
	t.Helper()
	path := os.Getenv("ASSENT_TEST_BROWSER")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		msg := fmt.Sprintf("browser tests need Chromium, not found at %s: install it with "+
			"`apt-get update && apt-get install -y chromium`, or set ASSENT_TEST_BROWSER to a Chromium or Chrome binary", path)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// screenshotDir is where browser tests save their screenshots: the folder
// of ASSENT_SCREENSHOTS, or screenshots/ at the repository's root.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ASSENT_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts a headless Chromium with a profile of its own and
// returns a tab, closed with the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(testBrowser(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	return ctx
}

// submit clicks a button that sends a form, and waits for the page that
// answers to load.
func submit(sel string) chromedp.Action[chromedp.Void] {
	wait := chromedp.WaitEvent(cdppage.LoadEventFired, nil, chromedp.Click(css(sel)))
	return func(ctx context.Context, tab *chromedp.Target) (chromedp.Void, error) {
		_, err := wait(ctx, tab)
		return chromedp.Void{}, err
	}
}

// css selects the first element that matches a CSS selector.
func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// TestAdminInBrowser drives the real pages in Chromium as a marketer would:
// sign in, create a subcategory, two opt-ins and a campaign whose form
// shows them, then fill in the public form as a participant. It saves a
// screenshot of each main page.
func TestAdminInBrowser(t *testing.T) {
	t.Parallel()
	start := time.Now()
	ctx := newBrowser(t)
	e := newTestEnv(t)
	// A server whose base URL is its own address, so that links and
	// cookies work for the browser as they would in production.
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	srv.Config.Handler = server.New(e.store, slog.New(slog.NewTextHandler(io.Discard, nil)), server.Config{BaseURL: base})
	srv.Start()
	t.Cleanup(srv.Close)
	if _, err := e.store.UpdateAccount(context.Background(), e.acme.ID, func(a *assent.Account) { a.TimeZone = "Europe/Brussels" }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.CreateUser(context.Background(), e.acme.ID, "mia@example.com", "Mia Marketer", assent.RoleAdmin,
		"correct horse battery"); err != nil {
		t.Fatal(err)
	}
	dir := screenshotDir(t)
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, tab *chromedp.Target) (chromedp.Void, error) {
			png, err := chromedp.FullScreenshot(100)(ctx, tab)
			if err != nil {
				return chromedp.Void{}, err
			}
			return chromedp.Void{}, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
		}
	}
	// run runs the steps of one part, and stops the test with the part's
	// name and the page's address when one fails.
	run := func(part string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			at, _ := chromedp.Run(ctx, chromedp.Location())
			t.Fatalf("%s (at %s): %v", part, at, err)
		}
	}
	read := func(a chromedp.Action[string]) string {
		t.Helper()
		v, err := chromedp.Run(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(v)
	}
	text := func(sel string) string {
		t.Helper()
		return read(chromedp.Text(css(sel)))
	}

	// Any admin page asks to sign in first, then opens.
	run("sign in",
		chromedp.Navigate(base+"/admin/subcategories"),
		chromedp.WaitVisible(css(`#email`)),
		shot("01-sign-in"),
		chromedp.SendKeys(css(`#email`), "mia@example.com"),
		chromedp.SendKeys(css(`#password`), "correct horse battery"),
		submit(`form[action="/admin/login"] button[type=submit]`),
		chromedp.WaitVisible(css(`form[action="/admin/subcategories"]`)),
	)

	// A subcategory: its value is suggested from its name.
	run("create a subcategory",
		chromedp.SendKeys(css(`#name`), "Weekly news"),
		chromedp.SetValue(css(`#category`), assent.CategoryNewsletterMarketing),
		submit(`form[action="/admin/subcategories"] button[type=submit]`),
		chromedp.WaitVisible(css(`.flash-ok`)),
		shot("02-subcategories"),
	)
	if got := text(`.flash-ok`); got != "Subcategory “Weekly news” created." {
		t.Errorf("flash: got %q", got)
	}
	if _, err := e.store.Subcategories(context.Background(), e.acme.ID); err != nil {
		t.Fatal(err)
	}

	// An opt-in sent empty first: the problems show next to the fields.
	run("refuse an empty opt-in",
		chromedp.Navigate(base+"/admin/optins/new"),
		chromedp.WaitVisible(css(`#text`)),
		submit(`form[action="/admin/optins"] button[type=submit]`),
		chromedp.WaitVisible(css(`.error-summary`)),
		shot("03-optin-form-errors"),
	)
	if got := text(`#text-error`); !strings.Contains(got, "Is required") {
		t.Errorf("error next to the text: got %q, want it to say the text is required", got)
	}
	run("create the newsletter opt-in",
		chromedp.SendKeys(css(`#name`), "Weekly newsletter"),
		chromedp.SendKeys(css(`#text`), "Send me the weekly newsletter with news and offers. See our [privacy policy](https://example.com/privacy)."),
		chromedp.SendKeys(css(`#variable`), "weekly_newsletter"),
		chromedp.Click(css(`input[name="subcategories"][value="weekly-news"]`)),
		submit(`form[action="/admin/optins"] button[type=submit]`),
		chromedp.WaitVisible(css(`.flash-ok`)),
		shot("04-optin"),
	)
	run("create the contest rules opt-in",
		chromedp.Navigate(base+"/admin/optins/new"),
		chromedp.WaitVisible(css(`#text`)),
		chromedp.SendKeys(css(`#name`), "Contest rules"),
		chromedp.SendKeys(css(`#text`), "I accept the [contest rules](https://example.com/rules)."),
		chromedp.Click(css(`#mandatory`)),
		chromedp.Click(css(`input[name="subcategories"][value="legal"]`)),
		submit(`form[action="/admin/optins"] button[type=submit]`),
		chromedp.WaitVisible(css(`.flash-ok`)),
		chromedp.Navigate(base+"/admin/optins"),
		chromedp.WaitVisible(css(`table`)),
		shot("05-optins"),
	)

	// A campaign, then its form: both opt-ins, the rules first.
	run("create a campaign",
		chromedp.Navigate(base+"/admin/campaigns/new"),
		chromedp.WaitVisible(css(`#name`)),
		shot("06-campaign-new"),
		chromedp.SendKeys(css(`#name`), "Christmas contest"),
		chromedp.SetValue(css(`#fields-first_name`), assent.FieldRequired),
		submit(`form[action="/admin/campaigns"] button[type=submit]`),
		chromedp.WaitVisible(css(`#add`)),
		submit(`form[action$="/optins"] button[type=submit].button`), // adds the first offered: the newsletter
		chromedp.WaitVisible(css(`.flash-ok`)),
		chromedp.WaitVisible(css(`#add`)),
		submit(`form[action$="/optins"] button[type=submit].button`), // then the rules
		chromedp.WaitVisible(css(`.flash-ok`)),
		submit(`tbody tr:nth-child(2) button[name="up"]`),
		chromedp.WaitVisible(css(`.flash-ok`)),
		shot("07-campaign"),
	)
	if got := text(`tbody tr:first-child .cell-main a`); got != "Contest rules" {
		t.Errorf("first opt-in of the form: got %q, want Contest rules", got)
	}
	formURL := read(chromedp.Value(css(`#form-url`)))
	if !strings.HasPrefix(formURL, base+"/f/cmp_") {
		t.Fatalf("form link: got %q, want %s/f/cmp_…", formURL, base)
	}
	run("list the campaigns",
		chromedp.Navigate(base+"/admin/campaigns"),
		chromedp.WaitVisible(css(`table`)),
		shot("08-campaigns"),
	)

	// A participant fills in the public form.
	run("participate",
		chromedp.Navigate(formURL),
		chromedp.WaitVisible(css(`#email`)),
		chromedp.SendKeys(css(`#email`), "Zoe@Example.com"),
		chromedp.SendKeys(css(`#first_name`), "Zoé"),
		chromedp.Click(css(`.optins .optin:nth-child(1) input[type=checkbox]`)), // the rules
		chromedp.Click(css(`.optins .optin:nth-child(2) input[type=checkbox]`)), // the newsletter
		shot("09-public-form"),
		submit(`form button[type=submit]`),
		chromedp.WaitVisible(css(`h1`)),
		shot("10-thanks"),
	)
	if got := text(`h1`); got != "Thank you!" {
		t.Errorf("after the form: got the page %q, want Thank you!", got)
	}
	p, err := e.store.ParticipantByEmail(context.Background(), e.acme.ID, "zoe@example.com")
	if err != nil {
		t.Fatalf("the participant is not stored: %v", err)
	}
	if p.FirstName != "Zoé" {
		t.Errorf("participant's first name: got %q, want Zoé", p.FirstName)
	}
	states := map[string]string{}
	for _, c := range p.Consents {
		states[c.OptinName] = string(c.State)
	}
	if states["Contest rules"] != "given" || states["Weekly newsletter"] != "given" {
		t.Errorf("consents: got %v, want both given", states)
	}

	// The statistics count the participation at once.
	campaignID := strings.TrimPrefix(formURL, base+"/f/")
	run("campaign dashboard",
		chromedp.Navigate(base+"/admin/campaigns/"+campaignID),
		chromedp.WaitVisible(css(`a[href$="/stats"]`)),
		chromedp.Click(css(`.header-actions a[href$="/stats"]`)),
		chromedp.WaitVisible(css(`.chart-svg`)),
		shot("10a-campaign-dashboard"),
	)
	if got := text(`.headline .figure:first-child dd`); got != "1" {
		t.Errorf("dashboard participations: got %q, want 1", got)
	}
	run("insights",
		chromedp.Navigate(base+"/admin/insights?period=last_30_days"),
		chromedp.WaitVisible(css(`.chart-svg`)),
		shot("10b-insights"),
		chromedp.Navigate(base+"/admin/stats"),
		chromedp.WaitVisible(css(`.marketing .big`)),
		shot("10c-global-stats"),
	)
	if got := text(`.marketing .big`); got != "100.0%" {
		t.Errorf("global marketing opt-in rate: got %q, want 100.0%%", got)
	}

	// The settings, with a second user whose role can change.
	if _, err := e.store.CreateUser(context.Background(), e.acme.ID, "oli@example.com", "Oli Observer", assent.RoleObserver,
		"correct horse battery"); err != nil {
		t.Fatal(err)
	}
	run("settings",
		chromedp.Navigate(base+"/admin/settings"),
		chromedp.WaitVisible(css(`#time_zone`)),
		shot("11-settings-account"),
		chromedp.Navigate(base+"/admin/settings/users"),
		chromedp.WaitVisible(css(`#email`)),
		shot("12-settings-users"),
		chromedp.Navigate(base+"/admin/settings/apikeys"),
		chromedp.WaitVisible(css(`#name`)),
		chromedp.SendKeys(css(`#name`), "Website forms"),
		submit(`form[action="/admin/settings/apikeys"] button[type=submit]`),
		chromedp.WaitVisible(css(`#new-key`)),
		shot("13-settings-apikeys"),
	)

	// A webhook endpoint on a real receiver, which fails its second call:
	// its secret once, then a log with a delivery and a retry.
	var calls atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(receiver.Close)
	dispatcher := webhook.New(e.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	deliver := func(ctx context.Context, tab *chromedp.Target) (chromedp.Void, error) {
		_, err := dispatcher.DeliverDue(context.Background())
		return chromedp.Void{}, err
	}
	run("webhooks",
		chromedp.Navigate(base+"/admin/settings/webhooks"),
		chromedp.WaitVisible(css(`.empty a[href="/admin/settings/webhooks/new"]`)),
		chromedp.Click(css(`.empty a[href="/admin/settings/webhooks/new"]`)),
		chromedp.WaitVisible(css(`#url`)),
		chromedp.SendKeys(css(`#url`), receiver.URL+"/hooks/assent"),
		chromedp.Click(css(`#events-consent\.withdrawn`)),
		chromedp.Click(css(`#categories-newsletter_marketing`)),
		chromedp.SendKeys(css(`#header-name`), "X-Token"),
		chromedp.SendKeys(css(`#header-value`), "s3cret"),
		shot("13a-webhook-form"),
		submit(`form[action="/admin/settings/webhooks"] button[type=submit]`),
		chromedp.WaitVisible(css(`#new-secret`)),
		shot("13b-webhook-created"),
		submit(`form[action$="/test"] button`),
		chromedp.WaitVisible(css(`.flash-ok`)),
		deliver,
		submit(`form[action$="/test"] button`),
		chromedp.WaitVisible(css(`.flash-ok`)),
		deliver,
		chromedp.Reload(),
		chromedp.WaitVisible(css(`#log table`)),
		shot("13c-webhook-log"),
		chromedp.Navigate(base+"/admin/settings/webhooks"),
		chromedp.WaitVisible(css(`table`)),
		shot("13d-settings-webhooks"),
	)
	if got := text(`tbody tr td:nth-child(3) .badge`); got != "Failing" {
		t.Errorf("webhooks list, health: got %q, want Failing", got)
	}
	run("password",
		chromedp.Navigate(base+"/admin/password"),
		chromedp.WaitVisible(css(`#current_password`)),
		shot("13e-password"),
	)

	// Signed out, then in as an observer: reading, but no settings.
	run("sign out",
		submit(`form[action="/admin/logout"] button`),
		chromedp.WaitVisible(css(`.flash-ok`)),
	)
	if got := text(`.flash-ok`); got != "You are signed out." {
		t.Errorf("after signing out: got %q", got)
	}
	run("sign in as an observer",
		chromedp.SendKeys(css(`#email`), "oli@example.com"),
		chromedp.SendKeys(css(`#password`), "correct horse battery"),
		submit(`form[action="/admin/login"] button[type=submit]`),
		chromedp.WaitVisible(css(`table`)),
		shot("14-campaigns-as-observer"),
		chromedp.Navigate(base+"/admin/settings"),
		chromedp.WaitVisible(css(`h1`)),
		shot("15-forbidden"),
	)
	if got := text(`h1`); got != "You do not have access to this page" {
		t.Errorf("an observer's settings page: got %q", got)
	}
	t.Logf("browser test took %v; screenshots in %s", time.Since(start).Round(time.Millisecond), dir)
}
