package cursor

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/ticketflow/ticketflow/internal/apperr"
)

type position struct {
	Created time.Time `json:"c"`
	ID      string    `json:"i"`
}

func TestCursor_RoundTrip(t *testing.T) {
	c := New("secret")
	want := position{Created: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC), ID: "3f1c"}
	var got position
	if err := c.Decode(c.Encode(want), &got); err != nil {
		t.Fatal(err)
	}
	if !got.Created.Equal(want.Created) || got.ID != want.ID {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestCursor_RejectsTampering(t *testing.T) {
	c := New("secret")
	good := c.Encode(position{ID: "a"})
	forged := New("other secret").Encode(position{ID: "b"})
	payload, mac, _ := strings.Cut(good, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	altered := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), `"i":"a"`, `"i":"b"`, 1))) + "." + mac
	for name, s := range map[string]string{
		"empty":          "",
		"no signature":   payload,
		"other key":      forged,
		"altered":        altered,
		"bad base64":     "!!!." + mac,
		"too long":       strings.Repeat("a", 2000),
		"sql":            "' OR 1=1 --",
		"unknown fields": New("secret").Encode(map[string]int{"x": 1}),
	} {
		var p position
		if err := c.Decode(s, &p); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%s: err = %v, want invalid", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	c := New("secret")
	f.Add(c.Encode(position{ID: "x"}))
	f.Add("a.b")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		var p position
		if err := c.Decode(s, &p); err == nil && c.Encode(p) == "" {
			t.Fatal("decoded cursor does not encode")
		}
	})
}
