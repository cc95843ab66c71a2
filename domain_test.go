package assent

import (
	"sort"
	"strings"
	"testing"
	"time"
)

func TestValidEmail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want bool
	}{
		{"ada@example.com", true},
		{"a.b+tag@sub.example.co.uk", true},
		{"ada@example", false},
		{"ada@", false},
		{"@example.com", false},
		{"ada example.com", false},
		{"Ada <ada@example.com>", false},
		{"ada@example.com.", false},
		{strings.Repeat("a", 250) + "@x.com", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ValidEmail(tt.in); got != tt.want {
			t.Errorf("ValidEmail(%q): got %v, want %v", tt.in, got, tt.want)
		}
	}
	if got := NormalizeEmail("  Ada@Example.COM "); got != "ada@example.com" {
		t.Errorf("NormalizeEmail: got %q, want ada@example.com", got)
	}
}

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	h := HashPassword("correct horse battery")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Errorf("hash: got %q, want an argon2id PHC string", h)
	}
	if !CheckPassword(h, "correct horse battery") {
		t.Error("the right password was refused")
	}
	if CheckPassword(h, "correct horse batterz") {
		t.Error("a wrong password was accepted")
	}
	if CheckPassword("garbage", "x") {
		t.Error("a malformed hash was accepted")
	}
	if HashPassword("same") == HashPassword("same") {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

func TestNewIDSortsByTime(t *testing.T) {
	t.Parallel()
	var ids []string
	for i := 0; i < 3; i++ {
		ids = append(ids, NewID("x_"))
		time.Sleep(2 * time.Millisecond)
	}
	if !sort.StringsAreSorted(ids) {
		t.Errorf("ids made in sequence do not sort: %v", ids)
	}
	if len(ids[0]) != len("x_")+26 {
		t.Errorf("id length: got %d, want %d", len(ids[0]), len("x_")+26)
	}
	if ids[0] == ids[1] {
		t.Error("two ids are equal")
	}
}

func TestCanonicalLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"en", "en"}, {"FR", "fr"}, {"nl-be", "nl-BE"}, {"pt_BR", "pt-BR"}, {"und", ""}, {"xx-invalid!", ""}, {"", ""},
	}
	for _, tt := range tests {
		got, err := CanonicalLanguage(tt.in)
		if tt.want == "" && err == nil {
			t.Errorf("CanonicalLanguage(%q): got %q, want an error", tt.in, got)
		}
		if tt.want != "" && got != tt.want {
			t.Errorf("CanonicalLanguage(%q): got %q (%v), want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestRolePermissions(t *testing.T) {
	t.Parallel()
	// SPEC §6, row by row.
	tests := []struct {
		action Action
		roles  string
	}{
		{ManageAccount, "admin"},
		{ManageWebhooks, "admin"},
		{ManageSubcategories, "admin marketer"},
		{ManageOptins, "admin marketer"},
		{ManageCampaigns, "admin marketer editor"},
		{ReadStats, "admin marketer editor observer"},
		{ReadGlobalStats, "admin marketer"},
		{ManageParticipants, "admin marketer"},
		{EraseParticipants, "admin"},
		{SubmitParticipations, "admin marketer editor collector"},
	}
	for _, tt := range tests {
		for _, r := range Roles {
			want := strings.Contains(" "+tt.roles+" ", " "+string(r)+" ")
			if got := r.Can(tt.action); got != want {
				t.Errorf("%s can do action %d: got %v, want %v", r, tt.action, got, want)
			}
		}
	}
}
