package assent

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestWebhookURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://hooks.example.com/assent?key=1", true},
		{"https://10.0.0.1:8443/hook", true}, // the customer's own network, over TLS
		{"http://127.0.0.1:9000/hook", true},
		{"http://127.8.9.10/hook", true},
		{"http://localhost:3000/hook", true},
		{"http://api.localhost/hook", true},
		{"http://[::1]:8080/hook", true},
		{"http://example.com/hook", false},
		{"http://10.0.0.1/hook", false},
		{"http://localhost.example.com/hook", false},
		{"http://127.0.0.1.example.com/hook", false},
		{"ftp://example.com/hook", false},
		{"https:///hook", false},
		{"//example.com/hook", false},
		{"https://example.com/hook#part", false},
		{"https://exa mple.com/", false},
		{"", false},
	}
	for _, tt := range tests {
		e := WebhookEndpoint{URL: tt.url, Events: []string{WebhookParticipationCreated}}
		err := e.Validate()
		if got := err == nil; got != tt.ok {
			t.Errorf("%q: got error %v, want ok %v", tt.url, err, tt.ok)
		}
	}
}

func TestWebhookWants(t *testing.T) {
	t.Parallel()
	marketing := CategoryFlags{NewsletterMarketing: true}
	tests := []struct {
		events, categories []string
		typ                string
		about              CategoryFlags
		want               bool
	}{
		{[]string{WebhookParticipationCreated}, nil, WebhookParticipationCreated, CategoryFlags{}, true},
		{[]string{WebhookConsentWithdrawn}, nil, WebhookParticipationCreated, marketing, false},
		{[]string{WebhookParticipationCreated}, []string{CategoryPartners}, WebhookParticipationCreated, marketing, false},
		{[]string{WebhookParticipationCreated}, []string{CategoryPartners, CategoryNewsletterMarketing},
			WebhookParticipationCreated, marketing, true},
		{WebhookEventTypes, []string{CategoryOthers}, WebhookConsentExpired, CategoryFlags{Others: true}, true},
	}
	for _, tt := range tests {
		if got := WebhookWants(tt.events, tt.categories, tt.typ, tt.about); got != tt.want {
			t.Errorf("%v %v wants %s about %+v: got %v, want %v", tt.events, tt.categories, tt.typ, tt.about, got, tt.want)
		}
	}
}

func TestNewWebhookSecret(t *testing.T) {
	t.Parallel()
	a, b := NewWebhookSecret(), NewWebhookSecret()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(a, "whsec_"))
	if !strings.HasPrefix(a, "whsec_") || err != nil || len(key) != 32 {
		t.Errorf("got %q (%v), want whsec_ and 32 bytes in base64", a, err)
	}
	if a == b {
		t.Error("two secrets are equal")
	}
}
