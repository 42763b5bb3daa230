// Package cursor encodes keyset-pagination positions as opaque, signed
// strings. A client can hand a cursor back but not forge or alter one: any
// change fails the HMAC and is answered 400, so a cursor never smuggles an
// unexpected value into a query.
package cursor

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/ticketflow/ticketflow/internal/apperr"
)

// maxLen bounds the cursors Decode accepts.
const maxLen = 1024

// Codec signs and checks cursors with a secret shared by all replicas.
type Codec struct{ key []byte }

// New returns a codec keyed by secret.
func New(secret string) *Codec { return &Codec{key: []byte(secret)} }

// Encode returns the cursor for position v (any JSON-encodable value).
func (c *Codec) Encode(v any) string {
	payload, err := json.Marshal(v)
	if err != nil {
		// Positions are plain structs of strings, numbers and times.
		panic("cursor: encode position: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(c.mac(payload))
}

// Decode checks cursor s and reads its position into v. Every failure is an
// apperr.Invalid error.
func (c *Codec) Decode(s string, v any) error {
	invalid := apperr.New(apperr.Invalid, "the cursor is invalid")
	if len(s) > maxLen {
		return invalid
	}
	p, m, ok := strings.Cut(s, ".")
	if !ok {
		return invalid
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return invalid
	}
	mac, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil || !hmac.Equal(mac, c.mac(payload)) {
		return invalid
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid
	}
	return nil
}

func (c *Codec) mac(payload []byte) []byte {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte("ticketflow-cursor-v1\x00"))
	h.Write(payload)
	return h.Sum(nil)[:16]
}
