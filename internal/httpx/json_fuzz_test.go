package httpx_test

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

// The shapes of the services' request bodies, with the same kinds of
// validation tags: plumbing does not import the services, so these stand
// in for them.
type (
	fuzzRegister struct {
		Email    string `json:"email" validate:"required,email,max=254"`
		Password string `json:"password" validate:"required,min=12,max=200"`
		Name     string `json:"name" validate:"required,max=100"`
	}
	fuzzTicket struct {
		Title       string  `json:"title" validate:"required,max=200"`
		Description string  `json:"description" validate:"max=20000"`
		CategoryID  string  `json:"category_id" validate:"required,uuid"`
		Priority    string  `json:"priority" validate:"omitempty,oneof=low normal high urgent"`
		AssigneeID  *string `json:"assignee_id" validate:"omitempty,uuid"`
	}
	fuzzStep struct {
		Key      string `json:"key" validate:"required,max=64"`
		Name     string `json:"name" validate:"required,max=100"`
		Terminal bool   `json:"terminal"`
	}
	fuzzDefinition struct {
		TeamID      string     `json:"team_id" validate:"omitempty,uuid"`
		Steps       []fuzzStep `json:"steps" validate:"required,max=50,dive"`
		Transitions []struct {
			From  string   `json:"from"`
			To    string   `json:"to"`
			Roles []string `json:"roles" validate:"dive,oneof=requester agent admin"`
		} `json:"transitions" validate:"max=500"`
		Extra map[string]int `json:"extra"`
	}
)

// FuzzDecode feeds arbitrary bodies and content types to Decode: it never
// panics, and every failure is an *apperr.Error with a 4xx code — a
// client's bytes never make a 500.
func FuzzDecode(f *testing.F) {
	for _, seed := range []struct{ body, ctype string }{
		{`{"email":"a@example.com","password":"a long password","name":"A"}`, "application/json"},
		{`{"title":"t","category_id":"0195f0c8-7a3e-7b6e-9a0b-1c2d3e4f5a6b","priority":"high"}`, "application/json; charset=utf-8"},
		{`{"steps":[{"key":"new","name":"New"}],"transitions":[{"from":"new","to":"x","roles":["agent"]}]}`, "application/merge-patch+json"},
		{`{"title":1}`, ""},
		{`{"a":1}{"b":2}`, "application/json"},
		{`[1,2,3]`, "application/json"},
		{`null`, "application/json"},
		{`{"title":"\ud800"}`, "application/json"},
		{`{"steps":[{"key":"` + strings.Repeat("k", 100) + `"}]}`, "text/plain"},
		{"", "application/json"},
		{`{"extra":{"a":1e400}}`, "application/json;;"},
	} {
		f.Add(seed.body, seed.ctype, uint8(0))
	}
	f.Fuzz(func(t *testing.T, body, ctype string, shape uint8) {
		dsts := []func() any{
			func() any { return &fuzzRegister{} },
			func() any { return &fuzzTicket{} },
			func() any { return &fuzzDefinition{} },
			func() any { return &map[string]any{} },
		}
		dst := dsts[int(shape)%len(dsts)]()
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		err := httpx.Decode(req, dst)
		if err == nil {
			return
		}
		var ae *apperr.Error
		if !errors.As(err, &ae) {
			t.Fatalf("Decode(%q, %q) = %v (%T), want an *apperr.Error", body, ctype, err, err)
		}
		switch ae.Code {
		case apperr.Invalid, apperr.TooLarge, apperr.UnsupportedType, apperr.Unprocessable:
		default:
			t.Fatalf("Decode(%q, %q) = code %q, want a client error", body, ctype, ae.Code)
		}
	})
}
