package server_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/assentdev/assent/server"
)

// TestUIDir checks development mode (Config.UIDir, serve -dev): the
// admin and public pages are parsed again from the directory at every
// request, so that an edit shows on reload, while a server without it
// keeps serving what is embedded.
func TestUIDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("ui")); err != nil {
		t.Fatal(err)
	}
	dev := newPublicEnv(t, server.Config{UIDir: dir}, nil)
	embedded := newPublicEnv(t, server.Config{}, nil)
	edit := func(name, old, new string) {
		t.Helper()
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if err != nil || !bytes.Contains(b, []byte(old)) {
			t.Fatalf("%s: %v, or no %q in it", name, err, old)
		}
		if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []*testEnv{dev, embedded} {
		if p := e.getPage(200, "/admin/login"); strings.Contains(p.body, "Edited") {
			t.Fatal("the page holds the edit before it is made")
		}
	}
	edit("templates/admin/login.html", `{{define "content" -}}`, `{{define "content" -}}<p>Edited admin page</p>`)
	edit("templates/message.html", `{{define "content" -}}`, `{{define "content" -}}<p>Edited public page</p>`)
	for _, tc := range []struct {
		path, want string
		status     int
	}{
		{"/admin/login", "<p>Edited admin page</p>", 200},
		{"/f/cmp_nope", "<p>Edited public page</p>", 404},
	} {
		if p := dev.getPage(tc.status, tc.path); !strings.Contains(p.body, tc.want) {
			t.Errorf("dev, %s: the edit does not show\n%s", tc.path, p.body)
		}
		if p := embedded.getPage(tc.status, tc.path); strings.Contains(p.body, tc.want) {
			t.Errorf("embedded, %s: shows the edit on disk", tc.path)
		}
	}
	// A template that no longer parses is a 500, and the next fix shows.
	edit("templates/admin/login.html", `<p>Edited admin page</p>`, `{{if}}`)
	dev.getPage(500, "/admin/login")
	edit("templates/admin/login.html", `{{if}}`, `<p>Fixed</p>`)
	if p := dev.getPage(200, "/admin/login"); !strings.Contains(p.body, "<p>Fixed</p>") {
		t.Error("after the fix: the page does not show it")
	}
}
