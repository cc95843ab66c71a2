package assent

import (
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// The webhook event types an endpoint can subscribe to (SPEC §7).
const (
	WebhookParticipationCreated = "participation.created"
	WebhookConsentConfirmed     = "consent.confirmed"
	WebhookConsentExpired       = "consent.expired"
	WebhookConsentWithdrawn     = "consent.withdrawn"
)

// WebhookEventTypes lists the event types, in the order the API shows them.
var WebhookEventTypes = []string{WebhookParticipationCreated, WebhookConsentConfirmed, WebhookConsentExpired,
	WebhookConsentWithdrawn}

// WebhookTest is the type of the event an admin sends to try an endpoint.
// Endpoints cannot subscribe to it: it goes to one endpoint on request.
const WebhookTest = "webhook.test"

// MaxWebhookEndpoints is how many endpoints an account may register.
const MaxWebhookEndpoints = 50

// WebhookSecretPrefix starts every endpoint secret, as Standard Webhooks
// recommends; the rest is the key in standard base64.
const WebhookSecretPrefix = "whsec_"

// WebhookEndpoint is a URL of the customer's to which events are pushed.
// Secret is set only in the answers to its creation and to a rotation:
// it is never listed again. The Last… fields and the counts report how
// delivery goes, so that a failing endpoint shows; it is never disabled
// automatically.
type WebhookEndpoint struct {
	ID        string `json:"id"`
	AccountID string `json:"-"`
	URL       string `json:"url"`
	// Events lists the event types sent to the endpoint.
	Events []string `json:"events"`
	// Categories, when not empty, narrows what is sent to events about an
	// opt-in of one of these categories (a participation that accepted one).
	Categories []string       `json:"categories"`
	Header     *WebhookHeader `json:"header"`
	Enabled    bool           `json:"enabled"`
	Secret     string         `json:"secret,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`

	LastAttemptAt       *time.Time `json:"last_attempt_at"`
	LastStatusCode      *int       `json:"last_status_code"` // null when the last attempt got no answer
	LastError           string     `json:"last_error"`
	LastSuccessAt       *time.Time `json:"last_success_at"`
	ConsecutiveFailures int        `json:"consecutive_failures"` // attempts since the last success
	PendingDeliveries   int        `json:"pending_deliveries"`
	FailedDeliveries    int        `json:"failed_deliveries"` // given up after the whole retry schedule
}

// WebhookHeader is a custom header sent with every call to an endpoint,
// typically a credential the receiver checks.
type WebhookHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// reservedHeaders are set by the delivery itself; an endpoint's custom
// header may not replace them.
var reservedHeaders = []string{"webhook-id", "webhook-timestamp", "webhook-signature", "content-type",
	"content-length", "host", "user-agent", "transfer-encoding", "connection", "te", "trailer", "upgrade",
	"keep-alive", "proxy-connection", "expect"}

// Normalize trims the URL and the header name.
func (e *WebhookEndpoint) Normalize() {
	e.URL = strings.TrimSpace(e.URL)
	if e.Header != nil {
		e.Header.Name = strings.TrimSpace(e.Header.Name)
	}
}

// Validate checks an endpoint's fields: the URL is https, or http to a
// loopback address for development; events lists known types; categories
// lists category keys; the header is a valid HTTP header that delivery
// does not set itself.
func (e *WebhookEndpoint) Validate() error {
	p := Problems{}
	checkLength(p, "url", e.URL, 1, 2000)
	if _, ok := p["url"]; !ok {
		if problem := webhookURLProblem(e.URL); problem != "" {
			p.Add("url", "%s", problem)
		}
	}
	if len(e.Events) == 0 {
		p.Add("events", "must list at least one of %s", strings.Join(WebhookEventTypes, ", "))
	}
	seen := map[string]bool{}
	for _, ev := range e.Events {
		switch {
		case !oneOf(ev, WebhookEventTypes):
			p.Add("events", "%q is not an event type: use %s", ev, strings.Join(WebhookEventTypes, ", "))
		case seen[ev]:
			p.Add("events", "lists %q twice", ev)
		}
		seen[ev] = true
	}
	seen = map[string]bool{}
	for _, c := range e.Categories {
		switch {
		case CategoryIndex(c) < 0:
			p.Add("categories", "%q is not a category: use newsletter_marketing, legal, partners, others", c)
		case seen[c]:
			p.Add("categories", "lists %q twice", c)
		}
		seen[c] = true
	}
	if h := e.Header; h != nil {
		switch {
		case h.Name == "":
			p.Add("header.name", "is required")
		case len(h.Name) > 100 || !isHeaderToken(h.Name):
			p.Add("header.name", "must be an HTTP header name of at most 100 letters, digits and !#$%%&'*+-.^_`|~")
		case oneOf(strings.ToLower(h.Name), reservedHeaders):
			p.Add("header.name", "%s is set by the delivery itself; choose another header", h.Name)
		}
		switch {
		case h.Value == "":
			p.Add("header.value", "is required")
		case len(h.Value) > 2000:
			p.Add("header.value", "must be at most 2000 bytes")
		case !isHeaderValue(h.Value):
			p.Add("header.value", "must be printable text without line breaks")
		}
	}
	return p.Err()
}

// webhookURLProblem says what is wrong with an endpoint URL, or "".
func webhookURLProblem(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || !utf8.ValidString(s) || strings.ContainsAny(s, " \x00"):
		return "must be a URL such as https://example.com/hooks/assent"
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "", u.Hostname() == "":
		return "must be an absolute https URL such as https://example.com/hooks/assent"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "must not have a #fragment"
	case u.Scheme == "http" && !IsLoopbackHost(u.Hostname()):
		return "must use https; plain http is accepted only for a loopback address (localhost, 127.0.0.1, [::1])"
	}
	return ""
}

// IsLoopbackHost reports whether host (a URL's host name, without port)
// names this machine: localhost or a loopback IP address.
func IsLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isHeaderToken reports whether s is an HTTP token (RFC 9110 §5.6.2).
func isHeaderToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return s != ""
}

// isHeaderValue reports whether s can be an HTTP header value: valid UTF-8
// text without control characters other than tab.
func isHeaderValue(s string) bool {
	if !utf8.ValidString(s) || s != strings.TrimSpace(s) {
		return false
	}
	for _, r := range s {
		if r < ' ' && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}

// WebhookWants reports whether an endpoint subscribed to events and
// categories (empty: all) wants an event of type typ about categories.
func WebhookWants(events, categories []string, typ string, about CategoryFlags) bool {
	if !oneOf(typ, events) {
		return false
	}
	if len(categories) == 0 {
		return true
	}
	for _, c := range categories {
		if about.Has(c) {
			return true
		}
	}
	return false
}

// NewWebhookSecret returns a new random endpoint secret: "whsec_" and 32
// random bytes in standard base64, the Standard Webhooks format.
func NewWebhookSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return WebhookSecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// WebhookEvent is the body of every webhook call: the event's id (also the
// webhook-id header, stable across retries), its type, when it happened,
// and data whose shape depends on the type.
type WebhookEvent struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Data      any       `json:"data"`
}

// CategoryFlags says, for each of the four categories, whether an event
// concerns it: for a participation, whether the participant accepted at
// least one opt-in of it.
type CategoryFlags struct {
	NewsletterMarketing bool `json:"newsletter_marketing"`
	Legal               bool `json:"legal"`
	Partners            bool `json:"partners"`
	Others              bool `json:"others"`
}

// Set marks the category key.
func (f *CategoryFlags) Set(key string) {
	switch key {
	case CategoryNewsletterMarketing:
		f.NewsletterMarketing = true
	case CategoryLegal:
		f.Legal = true
	case CategoryPartners:
		f.Partners = true
	case CategoryOthers:
		f.Others = true
	}
}

// Has reports whether the category key is marked.
func (f CategoryFlags) Has(key string) bool {
	switch key {
	case CategoryNewsletterMarketing:
		return f.NewsletterMarketing
	case CategoryLegal:
		return f.Legal
	case CategoryPartners:
		return f.Partners
	case CategoryOthers:
		return f.Others
	}
	return false
}

// ParticipationData is the data of a participation.created event (SPEC §7).
type ParticipationData struct {
	Participation WebhookParticipation `json:"participation"`
	Campaign      WebhookCampaign      `json:"campaign"`
	Participant   WebhookParticipant   `json:"participant"`
	Optins        []ParticipationOptin `json:"optins"`
	// Categories says whether the participant accepted at least one opt-in
	// of each category in this participation.
	Categories CategoryFlags `json:"categories"`
	// Subcategories says the same for every subcategory the form showed.
	Subcategories map[string]bool `json:"subcategories"`
}

// WebhookParticipation is the participation of a participation.created event.
type WebhookParticipation struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	IPHash    string    `json:"ip_hash"`
	UserAgent string    `json:"user_agent"`
	UTM       UTM       `json:"utm"`
	Source    string    `json:"source"`
}

// WebhookCampaign is the campaign of an event.
type WebhookCampaign struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Language string `json:"language"`
	Type     string `json:"type"`
}

// WebhookParticipant is the participant of an event, with the signed link
// to the page where they see and withdraw their consents. New is set in
// participation.created only: whether this was their first participation.
type WebhookParticipant struct {
	ID             string `json:"id"`
	Email          string `json:"email"`
	FirstName      string `json:"first_name"`
	LastName       string `json:"last_name"`
	New            *bool  `json:"new,omitempty"`
	PreferencesURL string `json:"preferences_url"`
}

// ParticipationOptin is one opt-in of the form, with the answer (null for
// an optional radio left blank) and the state it left the consent in.
type ParticipationOptin struct {
	ID         string               `json:"id"`
	Name       string               `json:"name"`
	Variable   string               `json:"variable"`
	Version    int                  `json:"version"`
	Text       string               `json:"text"`
	Response   *bool                `json:"response"`
	State      ConsentState         `json:"state"`
	Categories []WebhookSubcategory `json:"categories"`
}

// WebhookSubcategory is one subcategory of an opt-in, with its category.
type WebhookSubcategory struct {
	Value  string   `json:"value"`
	Name   string   `json:"name"`
	Parent Category `json:"parent"`
}

// ConsentData is the data of the consent.confirmed, consent.expired and
// consent.withdrawn events: who, which opt-ins, the state they are in now
// (given, expired or withdrawn), and for a double opt-in the participation
// that asked for it.
type ConsentData struct {
	Participant WebhookParticipant `json:"participant"`
	State       ConsentState       `json:"state"`
	// Source says who made the change: api, preferences, confirmation, expiry.
	Source          string           `json:"source"`
	ParticipationID string           `json:"participation_id,omitempty"`
	ConfirmationID  string           `json:"confirmation_id,omitempty"`
	Campaign        *WebhookCampaign `json:"campaign,omitempty"`
	Optins          []ConsentOptin   `json:"optins"`
	// Categories and Subcategories say which ones the changed opt-ins
	// belong to.
	Categories    CategoryFlags   `json:"categories"`
	Subcategories map[string]bool `json:"subcategories"`
}

// ConsentOptin is one opt-in whose consent changed, with its new state.
type ConsentOptin struct {
	ID         string               `json:"id"`
	Name       string               `json:"name"`
	Variable   string               `json:"variable"`
	Version    int                  `json:"version"`
	Text       string               `json:"text"`
	State      ConsentState         `json:"state"`
	Categories []WebhookSubcategory `json:"categories"`
}

// TestData is the data of a webhook.test event.
type TestData struct {
	EndpointID string `json:"endpoint_id"`
	Message    string `json:"message"`
}

// WebhookAttempt is one try at delivering an event to an endpoint: the
// delivery log. StatusCode is null when no answer came (Error says why).
type WebhookAttempt struct {
	ID         string    `json:"id"`
	DeliveryID string    `json:"delivery_id"`
	EventID    string    `json:"event_id"`
	EventType  string    `json:"event_type"`
	Attempt    int       `json:"attempt"` // 1 for the first try of a delivery
	CreatedAt  time.Time `json:"created_at"`
	DurationMS float64   `json:"duration_ms"`
	StatusCode *int      `json:"status_code"`
	Error      string    `json:"error"`
	// ResponseBody is the start of the answer's body.
	ResponseBody string `json:"response_body"`
	Success      bool   `json:"success"`
	// DeliveryState is the delivery's state now: pending (to be retried),
	// delivered, failed (gave up) or cancelled.
	DeliveryState string `json:"delivery_state"`
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
	DeliveryCancelled = "cancelled" // the participant was erased before it went out
)

// WebhookDelivery is one event queued for one endpoint.
type WebhookDelivery struct {
	ID         string `json:"id"`
	EndpointID string `json:"endpoint_id"`
	EventID    string `json:"event_id"`
}
