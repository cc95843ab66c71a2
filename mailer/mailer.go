// Package mailer sends the emails queued in the store's outbox: today the
// double opt-in confirmation requests. It sends over an SMTP relay, or
// writes each message to the log when no relay is configured, so that a
// demo works without one.
package mailer

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"mime"
	"net/smtp"
	"regexp"
	"strings"
	"time"

	"github.com/assentdev/assent/store"
)

// Config says how to send.
type Config struct {
	// SMTPAddr is the relay's host:port; empty means "write to the log".
	SMTPAddr string
	// From is the sender address.
	From string
	// Username and Password authenticate to the relay (PLAIN), if set.
	Username, Password string
	// BaseURL is the public address of the service, for links.
	BaseURL string
}

// Mailer delivers the outbox. Create it with New and start Run.
type Mailer struct {
	store *store.Store
	log   *slog.Logger
	cfg   Config
	// Interval is how often the outbox is polled.
	Interval time.Duration
}

// New returns a Mailer for the store's outbox.
func New(st *store.Store, log *slog.Logger, cfg Config) *Mailer {
	if cfg.From == "" {
		cfg.From = "assent@localhost"
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Mailer{store: st, log: log, cfg: cfg, Interval: time.Second}
}

// Run sends due emails until ctx ends.
func (m *Mailer) Run(ctx context.Context) {
	t := time.NewTicker(m.Interval)
	defer t.Stop()
	for {
		if _, err := m.SendDue(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("mailer: send due emails", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// lease is how long a claimed email is reserved for this sender.
const lease = 2 * time.Minute

// SendDue sends every email due now and returns how many went out.
func (m *Mailer) SendDue(ctx context.Context) (int, error) {
	sent := 0
	for {
		mails, err := m.store.ClaimMails(ctx, 50, lease)
		if err != nil || len(mails) == 0 {
			return sent, err
		}
		var done []string
		for _, mail := range mails {
			if err := m.send(ctx, mail); err != nil {
				retry := time.Now().Add(backoff(mail.Attempts))
				m.log.Warn("mailer: sending failed; will retry", "mail", mail.ID, "attempt", mail.Attempts,
					"retry_at", retry, "err", err)
				if err := m.store.MailFailed(ctx, mail.ID, err, retry); err != nil {
					return sent, err
				}
				continue
			}
			done = append(done, mail.ID)
		}
		// Recorded together, once the claimed batch is sent: a crash in
		// between sends them again when their lease ends (at least once).
		if err := m.store.MailsSent(ctx, done); err != nil {
			return sent, err
		}
		sent += len(done)
	}
}

// backoff grows with each attempt: 1, 2, 4… minutes, at most 6 hours.
func backoff(attempts int) time.Duration {
	d := time.Minute << min(attempts-1, 9)
	return min(d, 6*time.Hour)
}

func (m *Mailer) send(ctx context.Context, mail store.Mail) error {
	if mail.Kind != "confirmation" {
		return fmt.Errorf("unknown kind of email %q", mail.Kind)
	}
	info, err := m.store.ConfirmationByToken(ctx, mail.Token)
	if err != nil {
		return fmt.Errorf("confirmation of %s: %w", mail.ID, err)
	}
	link := m.cfg.BaseURL + "/confirm/" + mail.Token
	subject, body := confirmationEmail(mail.Language, info.Optins, link)
	if m.cfg.SMTPAddr == "" {
		m.log.Info("mailer: no SMTP relay configured; the email would say", "to", mail.Recipient, "subject", subject,
			"link", link)
		return nil
	}
	var auth smtp.Auth
	if m.cfg.Username != "" {
		host, _, _ := strings.Cut(m.cfg.SMTPAddr, ":")
		auth = smtp.PlainAuth("", m.cfg.Username, m.cfg.Password, host)
	}
	return smtp.SendMail(m.cfg.SMTPAddr, auth, m.cfg.From, []string{mail.Recipient},
		message(m.cfg.From, mail.Recipient, subject, body))
}

// message formats a plain-text email.
func message(from, to, subject, body string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().UTC().Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return b.Bytes()
}

// markdownLink matches the [label](url) links of opt-in texts.
var markdownLink = regexp.MustCompile(`\[([^\]]*)\]\(([^)\s]*)\)`)

// confirmationEmail returns the subject and body of a confirmation request
// in the campaign's language (French or English). optins are the texts the
// participant accepted; their links are spelled out as "label (url)".
func confirmationEmail(language string, optins []string, link string) (string, string) {
	plain := make([]string, len(optins))
	for i, t := range optins {
		plain[i] = markdownLink.ReplaceAllString(t, "$1 ($2)")
	}
	list := "- " + strings.Join(plain, "\n- ")
	if strings.HasPrefix(language, "fr") {
		return "Confirmez votre inscription",
			"Bonjour,\n\nVous avez accepté :\n" + list + "\n\nPour confirmer, ouvrez ce lien puis cliquez sur « Confirmer » :\n" +
				link + "\n\nSi vous n'êtes pas à l'origine de cette demande, ignorez ce message : rien ne sera activé.\n"
	}
	return "Please confirm your subscription",
		"Hello,\n\nYou accepted:\n" + list + "\n\nTo confirm, open this link and press \"Confirm\":\n" + link +
			"\n\nIf you did not ask for this, ignore this message: nothing will be activated.\n"
}
