package assent

import "testing"

func TestConsentStateNext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from  ConsentState
		event EventType
		want  ConsentState
	}{
		{"", EventGiven, StateGiven},
		{"", EventPending, StatePending},
		{"", EventRefused, StateRefused},
		{"", EventUnanswered, ""},
		{StateRefused, EventGiven, StateGiven},
		{StateGiven, EventRefused, StateGiven},     // a later unticked box is not a withdrawal
		{StatePending, EventRefused, StatePending}, // nor for a pending consent
		{StateGiven, EventPending, StateGiven},     // accepting again keeps given, no new email
		{StateGiven, EventUnanswered, StateGiven},
		{StatePending, EventConfirmed, StateGiven},
		{StateGiven, EventConfirmed, StateGiven},
		{StatePending, EventExpired, StateExpired},
		{StateGiven, EventExpired, StateGiven},
		{StateGiven, EventWithdrawn, StateWithdrawn},
		{StatePending, EventWithdrawn, StateWithdrawn},
		{StateRefused, EventWithdrawn, StateRefused},
		{StateWithdrawn, EventGiven, StateGiven},
		{StateWithdrawn, EventRefused, StateWithdrawn},
		{StateExpired, EventPending, StatePending},
	}
	for _, tt := range tests {
		if got := tt.from.Next(tt.event); got != tt.want {
			t.Errorf("%q then %s: got %q, want %q", tt.from, tt.event, got, tt.want)
		}
	}
}
