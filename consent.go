package assent

// ConsentState is the current state of one participant's consent to one
// opt-in (SPEC §4.2). The empty state means the opt-in was never answered.
type ConsentState string

// The consent states.
const (
	StateGiven     ConsentState = "given"
	StatePending   ConsentState = "pending"
	StateRefused   ConsentState = "refused"
	StateWithdrawn ConsentState = "withdrawn"
	StateExpired   ConsentState = "expired"
)

// ConsentStates lists every state, for validating filters.
var ConsentStates = []ConsentState{StateGiven, StatePending, StateRefused, StateWithdrawn, StateExpired}

// OptedIn reports whether the state counts as opted in: only given does.
func (s ConsentState) OptedIn() bool { return s == StateGiven }

// EventType is what a consent event records.
type EventType string

// The consent event types. Given, Pending, Refused and Unanswered come from
// a participation's answers; the others from later actions.
const (
	EventGiven      EventType = "given"      // accepted
	EventPending    EventType = "pending"    // accepted, waiting for email confirmation
	EventRefused    EventType = "refused"    // shown and not accepted
	EventUnanswered EventType = "unanswered" // an optional radio left blank
	EventConfirmed  EventType = "confirmed"  // double opt-in confirmed
	EventExpired    EventType = "expired"    // double opt-in not confirmed in time
	EventWithdrawn  EventType = "withdrawn"
)

// Next returns the state after an event of type t, given the current state
// (SPEC §4.2): accepting again keeps a given consent given; a refusal or a
// blank answer never undoes an existing state; only a withdrawal does.
func (s ConsentState) Next(t EventType) ConsentState {
	switch t {
	case EventGiven:
		return StateGiven
	case EventPending:
		if s == StateGiven {
			return StateGiven
		}
		return StatePending
	case EventRefused:
		if s == "" {
			return StateRefused
		}
	case EventConfirmed:
		if s == StatePending {
			return StateGiven
		}
	case EventExpired:
		if s == StatePending {
			return StateExpired
		}
	case EventWithdrawn:
		if s == StateGiven || s == StatePending {
			return StateWithdrawn
		}
	}
	return s
}
