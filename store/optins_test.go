package store_test

import (
	"context"
	"testing"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/store"
	"github.com/assentdev/assent/store/storetest"
)

// TestDeleteOptin covers SPEC §3: an opt-in that was ever answered, or that
// a form shows, cannot be deleted, only archived. Answers do not exist in
// the API yet, so the answered flag is set as a participation would set it.
func TestDeleteOptin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		answered      bool
		placed        bool
		archivedFirst bool
		wantDeleted   bool
	}{
		{"unused", false, false, false, true},
		{"unused but archived", false, false, true, true},
		{"answered", true, false, false, false},
		{"answered and archived", true, false, true, false},
		{"on a form", false, true, false, false},
		{"answered and on a form", true, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := storetest.New(t)
			a := storetest.Account(t, s, "acme")
			o, err := s.CreateOptin(ctx, a.ID, assent.Optin{Name: "Rules", Language: "en", Text: "I accept the rules",
				Display: assent.DisplayCheckbox, Subcategories: []string{"legal"}})
			if err != nil {
				t.Fatal(err)
			}
			if o, err = s.UpdateOptin(ctx, a.ID, o.ID, func(o *assent.Optin) { o.Text = "I accept the new rules" }); err != nil {
				t.Fatal(err)
			}
			if tt.placed {
				if _, err := s.CreateCampaign(ctx, a.ID, assent.Campaign{Name: "Contest", Language: "en", Optins: []string{o.ID}}); err != nil {
					t.Fatal(err)
				}
			}
			if tt.answered {
				if err := store.MarkAnsweredForTest(s, o.ID); err != nil {
					t.Fatal(err)
				}
			}
			if tt.archivedFirst {
				if _, err := s.UpdateOptin(ctx, a.ID, o.ID, func(o *assent.Optin) { o.Status = assent.StatusArchived }); err != nil {
					t.Fatal(err)
				}
			}

			got, deleted, err := s.DeleteOptin(ctx, a.ID, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if deleted != tt.wantDeleted {
				t.Fatalf("deleted: got %v, want %v", deleted, tt.wantDeleted)
			}
			after, err := s.Optin(ctx, a.ID, o.ID)
			if tt.wantDeleted {
				if code := assent.ErrorCode(err); code != assent.ENOTFOUND {
					t.Errorf("read after delete: got %v, want %s", err, assent.ENOTFOUND)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != assent.StatusArchived || after.Status != assent.StatusArchived {
				t.Errorf("status: got %s (answer) and %s (stored), want archived", got.Status, after.Status)
			}
			if after.Answered != tt.answered {
				t.Errorf("answered: got %v, want %v", after.Answered, tt.answered)
			}
			// What participants saw stays provable: every version, as it was.
			versions, err := s.OptinVersions(ctx, a.ID, o.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(versions) != 2 || versions[0].Text != "I accept the rules" || versions[1].Text != "I accept the new rules" {
				t.Errorf("versions: got %+v, want both texts", versions)
			}
			if after.Version != 2 || after.Text != "I accept the new rules" {
				t.Errorf("opt-in: got version %d %q, want version 2 unchanged", after.Version, after.Text)
			}
			// A second delete archives again and still deletes nothing.
			if _, deleted, err := s.DeleteOptin(ctx, a.ID, o.ID); err != nil || deleted {
				t.Errorf("second delete: got deleted %v, err %v; want false, nil", deleted, err)
			}
		})
	}
}

// TestMarkAnswered checks that the answered flag sticks and that it is kept
// per opt-in.
func TestMarkAnswered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := storetest.New(t)
	a := storetest.Account(t, s, "acme")
	var ids []string
	for range 3 {
		o, err := s.CreateOptin(ctx, a.ID, assent.Optin{Name: "Rules", Language: "en", Text: "x",
			Display: assent.DisplayCheckbox, Subcategories: []string{"legal"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	for range 2 { // twice: marking again changes nothing
		if err := store.MarkAnsweredForTest(s, ids[0], ids[2]); err != nil {
			t.Fatal(err)
		}
	}
	for i, id := range ids {
		o, err := s.Optin(ctx, a.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := i != 1; o.Answered != want {
			t.Errorf("opt-in %d: got answered %v, want %v", i, o.Answered, want)
		}
	}
	// An edit keeps it answered.
	o, err := s.UpdateOptin(ctx, a.ID, ids[0], func(o *assent.Optin) { o.Name = "Renamed"; o.Answered = false })
	if err != nil {
		t.Fatal(err)
	}
	if !o.Answered {
		t.Errorf("after an edit: got answered false, want true")
	}
}
