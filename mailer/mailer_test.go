package mailer_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/assentdev/assent"
	"github.com/assentdev/assent/mailer"
	"github.com/assentdev/assent/store"
	"github.com/assentdev/assent/store/storetest"
)

// smtpServer is a minimal SMTP server on loopback that keeps what it
// receives, or refuses every message with a temporary error when failing.
type smtpServer struct {
	ln       net.Listener
	mu       sync.Mutex
	messages []string
	failing  bool
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(line string) { io.WriteString(c, line+"\r\n") }
	say("220 test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 test")
		case strings.HasPrefix(cmd, "MAIL FROM"):
			s.mu.Lock()
			failing := s.failing
			s.mu.Unlock()
			if failing {
				say("451 try again later")
				continue
			}
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO"):
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			s.mu.Lock()
			s.messages = append(s.messages, b.String())
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func (s *smtpServer) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.messages...)
}

// doubleOptinParticipation sets up a campaign with one double opt-in and
// submits a participation that accepts it.
func doubleOptinParticipation(t *testing.T, st *store.Store, language string) assent.Receipt {
	t.Helper()
	ctx := context.Background()
	a := storetest.Account(t, st, "acme")
	o, err := st.CreateOptin(ctx, a.ID, assent.Optin{Name: "Weekly news", Language: language,
		Text:    "Send me the [weekly news](https://brand.example/news)",
		Display: assent.DisplayCheckbox, DoubleOptin: true, Subcategories: []string{"newsletter_marketing"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.CreateCampaign(ctx, a.ID, assent.Campaign{Name: "Sign-up", Language: language, Optins: []string{o.ID}})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	r, _, err := st.Participate(ctx, a.ID, c.ID, assent.Submission{Email: "ada@example.com",
		Answers: map[string]*bool{o.ID: &yes}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var confirmLink = regexp.MustCompile(`https://assent\.example/confirm/(\w+)`)

func TestConfirmationEmailOverSMTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	r := doubleOptinParticipation(t, st, "fr")
	srv := startSMTP(t)
	m := mailer.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)),
		mailer.Config{SMTPAddr: srv.ln.Addr().String(), From: "news@brand.example", BaseURL: "https://assent.example/"})
	n, err := m.SendDue(ctx)
	if err != nil || n != 1 {
		t.Fatalf("send: got %d (%v), want 1", n, err)
	}
	msgs := srv.received()
	if len(msgs) != 1 {
		t.Fatalf("received: got %d messages, want 1", len(msgs))
	}
	msg := msgs[0]
	for _, want := range []string{"To: ada@example.com", "From: news@brand.example",
		"Send me the weekly news (https://brand.example/news)", "Confirmer"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	m1 := confirmLink.FindStringSubmatch(msg)
	if m1 == nil {
		t.Fatalf("no confirmation link in:\n%s", msg)
	}
	// Sent once: the outbox is empty and the token was wiped from it.
	if n, _ := m.SendDue(ctx); n != 0 || len(srv.received()) != 1 {
		t.Errorf("second pass sent %d more", n)
	}
	if _, err := st.Confirm(ctx, m1[1]); err != nil {
		t.Fatalf("confirm with the emailed token: %v", err)
	}
	p, err := st.Participant(ctx, accountOf(t, st), r.ParticipantID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Consents[0].State != assent.StateGiven {
		t.Errorf("after confirming from the email: got %s, want given", p.Consents[0].State)
	}
	pr, err := st.Proof(ctx, p.AccountID, p.ID)
	if err != nil || len(pr.Confirmations) != 1 || pr.Confirmations[0].SentAt == nil || pr.Confirmations[0].ConfirmedAt == nil {
		t.Errorf("proof of the double opt-in chain: got %+v (%v), want sent and confirmed", pr.Confirmations, err)
	}
}

func accountOf(t *testing.T, st *store.Store) string {
	t.Helper()
	a, err := st.AccountByNameOrID(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func TestFailedSendIsRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	doubleOptinParticipation(t, st, "en")
	srv := startSMTP(t)
	srv.mu.Lock()
	srv.failing = true
	srv.mu.Unlock()
	m := mailer.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)),
		mailer.Config{SMTPAddr: srv.ln.Addr().String(), BaseURL: "https://assent.example"})
	if n, err := m.SendDue(ctx); err != nil || n != 0 {
		t.Fatalf("send to a failing relay: got %d (%v), want 0", n, err)
	}
	if due, _ := st.DueMails(ctx, 10); len(due) != 0 {
		t.Errorf("retried at once: %d due, want 0 until the backoff passes", len(due))
	}
	// After the backoff the email is due again, and goes out.
	st.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	srv.mu.Lock()
	srv.failing = false
	srv.mu.Unlock()
	if n, err := m.SendDue(ctx); err != nil || n != 1 || len(srv.received()) != 1 {
		t.Fatalf("after the backoff: sent %d (%v), want 1", n, err)
	}
	if !strings.Contains(srv.received()[0], "Please confirm") {
		t.Errorf("English email expected:\n%s", srv.received()[0])
	}
}

func TestNoRelayWritesTheLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.New(t)
	doubleOptinParticipation(t, st, "en")
	var log strings.Builder
	m := mailer.New(st, slog.New(slog.NewTextHandler(&log, nil)), mailer.Config{BaseURL: "https://assent.example"})
	if n, err := m.SendDue(ctx); err != nil || n != 1 {
		t.Fatalf("got %d (%v), want 1", n, err)
	}
	if !confirmLink.MatchString(log.String()) || !strings.Contains(log.String(), "ada@example.com") {
		t.Errorf("the log lacks the link or the recipient:\n%s", log.String())
	}
}
