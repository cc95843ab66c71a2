package assent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"
)

// jsonHash is ComputeHash as it was first written, with json.Marshal: the
// chains stored since depend on every byte of it.
func jsonHash(e *ConsentEvent) string {
	fields := []any{e.ID, e.AccountID, e.Seq, e.ParticipantID, e.OptinID, e.OptinVersion, string(e.Type),
		e.ParticipationID, e.CampaignID, e.ConfirmationID, e.Source, e.IPHash, e.CreatedAt.UnixMicro()}
	b, _ := json.Marshal(fields)
	h := sha256.New()
	h.Write([]byte(e.PrevHash))
	h.Write([]byte{'\n'})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func TestComputeHashIsTheJSONHash(t *testing.T) {
	t.Parallel()
	base := ConsentEvent{ID: "evt_06h1c2y6h7s58yms5vdsyj2n8w", AccountID: "acc_1", Seq: 42, ParticipantID: "ptc_1",
		OptinID: "opt_1", OptinVersion: 3, Type: EventGiven, ParticipationID: "par_1", CampaignID: "cmp_1",
		Source: SourceAPI, IPHash: "dc3a82bb41d6889e", CreatedAt: time.Date(2026, 11, 26, 4, 10, 0, 171441000, time.UTC),
		PrevHash: GenesisHash}
	tests := []struct {
		name string
		edit func(e *ConsentEvent)
	}{
		{"plain", func(*ConsentEvent) {}},
		{"empty fields", func(e *ConsentEvent) { e.ParticipationID, e.CampaignID, e.IPHash = "", "", "" }},
		{"negative and large numbers", func(e *ConsentEvent) { e.Seq, e.OptinVersion = 1<<62, -1 }},
		{"before 1970", func(e *ConsentEvent) { e.CreatedAt = time.Date(1969, 1, 1, 0, 0, 0, 1000, time.UTC) }},
		{"quote and backslash", func(e *ConsentEvent) { e.Source = `a"b\c` }},
		{"HTML characters", func(e *ConsentEvent) { e.Source = "<a href='x'>&</a>" }},
		{"control characters", func(e *ConsentEvent) { e.ConfirmationID = "a\nb\tc\x00d\x1f\x7f" }},
		{"non-ASCII", func(e *ConsentEvent) { e.Source = "préférences ✓ \u2028\u2029" }},
		{"invalid UTF-8", func(e *ConsentEvent) { e.IPHash = "a\xffb\xc3" }},
		{"every field unusual", func(e *ConsentEvent) {
			e.ID, e.AccountID, e.ParticipantID, e.OptinID, e.Type = "é", "<", "&", `"`, "\\"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := base
			tt.edit(&e)
			if got, want := e.ComputeHash(), jsonHash(&e); got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
	// The hash of base as every release has stored it: chains written
	// before must still verify.
	if got, want := base.ComputeHash(), "2f1ac70186cca61dec01cc19f852c59afc189c1552162c34cfd58b56b9e7f7e2"; got != want {
		t.Errorf("base: got %s, want %s", got, want)
	}
}
