package wire

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

// NewSecret draws a fresh cluster secret (32 random bytes). Each run gets its
// own, so processes from different runs can never talk to each other.
func NewSecret() ([]byte, error) {
	b := make([]byte, secretLen)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("draw secret: %w", err)
	}
	return b, nil
}

// EncodeSecret renders a secret as hex, to pass it to child processes in an
// environment variable rather than on the command line, where ps would show it.
func EncodeSecret(secret []byte) string { return hex.EncodeToString(secret) }

// DecodeSecret parses EncodeSecret's output. Surrounding white space is
// ignored; a secret shorter than 16 bytes is refused.
func DecodeSecret(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("decode secret: %w", err)
	}
	if err := checkSecret(b); err != nil {
		return nil, fmt.Errorf("decode secret: %w", err)
	}
	return b, nil
}
