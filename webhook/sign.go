package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"github.com/assentdev/assent"
)

// Sign returns the webhook-signature header of a call, following Standard
// Webhooks: for each secret, "v1," and the base64 HMAC-SHA256 of
// "id.timestamp.body" keyed with the secret's bytes (the base64 after
// "whsec_"), space-separated. Several secrets sign during a rotation, so
// that a receiver that knows either one accepts the call.
func Sign(secrets []string, id string, timestamp int64, body []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, secret := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, assent.WebhookSecretPrefix))
		if err != nil || len(key) == 0 {
			return "", fmt.Errorf("webhook: the endpoint secret is not whsec_ and base64: %v", err)
		}
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id + "." + strconv.FormatInt(timestamp, 10) + "."))
		m.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	return strings.Join(sigs, " "), nil
}
