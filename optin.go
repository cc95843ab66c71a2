package assent

import (
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// Display says how an opt-in is shown on a form.
const (
	DisplayCheckbox = "checkbox" // ticking means yes; never pre-ticked
	DisplayRadio    = "radio"    // an explicit yes or no
)

// Status of an opt-in or a campaign.
const (
	StatusActive   = "active"
	StatusArchived = "archived"
)

// Optin is a consent request shown on forms (SPEC §3). Its text, info,
// language, display and mandatory flag are versioned: every change of one
// of them makes a new Version, and the old texts stay retrievable.
type Optin struct {
	ID            string   `json:"id"`
	AccountID     string   `json:"-"`
	Name          string   `json:"name"`
	Language      string   `json:"language"`
	Text          string   `json:"text"`
	Info          string   `json:"info"`
	LogoURL       string   `json:"logo_url"`
	Display       string   `json:"display"`
	Mandatory     bool     `json:"mandatory"`
	DoubleOptin   bool     `json:"double_optin"`
	Variable      string   `json:"variable"`
	Subcategories []string `json:"subcategories"` // values
	Categories    []string `json:"categories"`    // keys, derived from Subcategories, in category order
	Status        string   `json:"status"`
	Version       int      `json:"version"`
	// Answered is set once a participation answered the opt-in; from then on
	// it can only be archived, never deleted.
	Answered  bool      `json:"answered"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// OptinVersion is the exact content of an opt-in as shown from CreatedAt on.
type OptinVersion struct {
	Version   int       `json:"version"`
	Language  string    `json:"language"`
	Text      string    `json:"text"`
	Info      string    `json:"info"`
	Display   string    `json:"display"`
	Mandatory bool      `json:"mandatory"`
	CreatedAt time.Time `json:"created_at"`
}

// VersionOf returns the versioned content of o.
func (o *Optin) VersionOf() OptinVersion {
	return OptinVersion{Version: o.Version, Language: o.Language, Text: o.Text, Info: o.Info,
		Display: o.Display, Mandatory: o.Mandatory}
}

// Changed reports whether v differs from w in anything that is versioned.
func (v OptinVersion) Changed(w OptinVersion) bool {
	return v.Language != w.Language || v.Text != w.Text || v.Info != w.Info ||
		v.Display != w.Display || v.Mandatory != w.Mandatory
}

var (
	optinVariable = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	// markdownLink matches [label](target) in opt-in texts.
	markdownLink = regexp.MustCompile(`\[([^\]]*)\]\(([^)\s]*)\)`)
)

// Normalize canonicalises the fields of o that have a canonical form
// (the language tag) and trims the names. It runs before Validate.
func (o *Optin) Normalize() {
	o.Name = strings.TrimSpace(o.Name)
	if tag, err := CanonicalLanguage(o.Language); err == nil {
		o.Language = tag
	}
}

// Validate checks every field rule of SPEC §3 that needs no database; the
// store checks that subcategories exist and that variable is unique.
func (o *Optin) Validate() error {
	p := Problems{}
	checkLength(p, "name", o.Name, 1, 200)
	if o.Language == "" {
		p.Add("language", "is required")
	} else if _, err := CanonicalLanguage(o.Language); err != nil {
		p.Add("language", "must be a BCP 47 language tag such as en, fr or nl-BE")
	}
	checkLength(p, "text", o.Text, 1, 5000)
	checkLinks(p, "text", o.Text)
	checkLength(p, "info", o.Info, 0, 10000)
	checkLinks(p, "info", o.Info)
	if o.LogoURL != "" && !isHTTPSURL(o.LogoURL) {
		p.Add("logo_url", "must be an https URL")
	}
	if o.Display != DisplayCheckbox && o.Display != DisplayRadio {
		p.Add("display", "must be checkbox or radio")
	}
	if o.Variable != "" && !optinVariable.MatchString(o.Variable) {
		p.Add("variable", "must be 1 to 64 letters, digits or '_', not starting with a digit")
	}
	if len(o.Subcategories) == 0 {
		p.Add("subcategories", "must name at least one subcategory")
	}
	seen := map[string]bool{}
	for _, v := range o.Subcategories {
		if seen[v] {
			p.Add("subcategories", "lists %q twice", v)
		}
		seen[v] = true
	}
	if o.Status != StatusActive && o.Status != StatusArchived {
		p.Add("status", "must be active or archived")
	}
	return p.Err()
}

// CanonicalLanguage parses a BCP 47 tag and returns its canonical spelling
// (fr, nl-BE). It refuses the undetermined tag "und".
func CanonicalLanguage(s string) (string, error) {
	tag, err := language.Parse(s)
	if err != nil {
		return "", err
	}
	if tag == language.Und {
		return "", Errorf(EINVALID, "undetermined language")
	}
	return tag.String(), nil
}

// checkLinks refuses links of the form [label](target) whose target is not
// an http or https URL, so that no javascript: link reaches a form page.
func checkLinks(p Problems, field, s string) {
	for _, m := range markdownLink.FindAllStringSubmatch(s, -1) {
		u, err := url.Parse(m[2])
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			p.Add(field, "link %q must point to an http or https URL", m[0])
		}
	}
}

func isHTTPSURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != ""
}
