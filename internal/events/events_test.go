package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

type ticketCreated struct {
	TicketID string `json:"ticket_id"`
	Title    string `json:"title"`
}

func TestNew_FillsEnvelope(t *testing.T) {
	before := time.Now()
	e, err := New("/helpdesk", TicketCreated, "t-1", ticketCreated{TicketID: "t-1", Title: "Printer"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if e.SpecVersion != "1.0" || e.Source != "/helpdesk" || e.Type != TicketCreated || e.Subject != "t-1" {
		t.Errorf("envelope = %+v", e)
	}
	if e.DataContentType != "application/json" {
		t.Errorf("datacontenttype = %q", e.DataContentType)
	}
	if _, err := uuid.Parse(e.ID); err != nil {
		t.Errorf("id %q is not a UUID: %v", e.ID, err)
	}
	if e.Time.Location() != time.UTC || e.Time.Before(before.Add(-time.Second)) || e.Time.After(time.Now().Add(time.Second)) {
		t.Errorf("time = %v, want now in UTC", e.Time)
	}
	other, err := New("/helpdesk", TicketCreated, "t-1", ticketCreated{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if other.ID == e.ID {
		t.Errorf("two events share the id %s", e.ID)
	}
}

func TestNew_RejectsWhatCannotBePublished(t *testing.T) {
	tests := []struct {
		name   string
		source string
		typ    string
		data   any
	}{
		{"no source", "", TicketCreated, map[string]int{"a": 1}},
		{"no type", "/helpdesk", "", map[string]int{"a": 1}},
		{"nil data", "/helpdesk", TicketCreated, nil},
		{"unencodable data", "/helpdesk", TicketCreated, make(chan int)},
		{"type too long for a routing key", "/helpdesk", strings.Repeat("x", 256), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.source, tt.typ, "", tt.data); err == nil {
				t.Fatal("New succeeded, want an error")
			}
		})
	}
}

func TestParse_RoundTrip(t *testing.T) {
	e, err := New("/auth", UserUpdated, "u-1", map[string]string{"role": "agent"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got.ID != e.ID || got.Type != e.Type || got.Source != e.Source || got.Subject != e.Subject ||
		got.DataContentType != e.DataContentType || !got.Time.Equal(e.Time) || !bytes.Equal(got.Data, e.Data) {
		t.Errorf("Parse(Marshal(e)) = %+v, want %+v", got, e)
	}
	var data map[string]string
	if err := got.DecodeData(&data); err != nil {
		t.Fatalf("DecodeData: %v", err)
	}
	if data["role"] != "agent" {
		t.Errorf("data = %v", data)
	}
}

func TestParse_AcceptsMinimalEventAndExtensions(t *testing.T) {
	in := `{"specversion":"1.0","id":"a","source":"s","type":"x.y","data":{},"traceparent":"00-abc"}`
	e, err := Parse([]byte(in))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if !e.Time.IsZero() || e.DataContentType != "" || string(e.Data) != "{}" {
		t.Errorf("event = %+v", e)
	}
}

func TestParse_RejectsInvalidEnvelopes(t *testing.T) {
	valid := `{"specversion":"1.0","id":"a","source":"s","type":"x","data":{"k":1}}`
	if _, err := Parse([]byte(valid)); err != nil {
		t.Fatalf("valid envelope rejected: %v", err)
	}
	tests := map[string]string{
		"empty":                      ``,
		"not json":                   `hello`,
		"array":                      `[1,2]`,
		"null":                       `null`,
		"wrong specversion":          `{"specversion":"0.3","id":"a","source":"s","type":"x","data":{}}`,
		"specversion not a string":   `{"specversion":1.0,"id":"a","source":"s","type":"x","data":{}}`,
		"no specversion":             `{"id":"a","source":"s","type":"x","data":{}}`,
		"no id":                      `{"specversion":"1.0","source":"s","type":"x","data":{}}`,
		"empty id":                   `{"specversion":"1.0","id":"","source":"s","type":"x","data":{}}`,
		"no source":                  `{"specversion":"1.0","id":"a","type":"x","data":{}}`,
		"no type":                    `{"specversion":"1.0","id":"a","source":"s","data":{}}`,
		"no data":                    `{"specversion":"1.0","id":"a","source":"s","type":"x"}`,
		"null data":                  `{"specversion":"1.0","id":"a","source":"s","type":"x","data":null}`,
		"base64 data only":           `{"specversion":"1.0","id":"a","source":"s","type":"x","data_base64":"AAA="}`,
		"bad time":                   `{"specversion":"1.0","id":"a","source":"s","type":"x","time":"yesterday","data":{}}`,
		"non-JSON content type":      `{"specversion":"1.0","id":"a","source":"s","type":"x","datacontenttype":"text/plain","data":"hi"}`,
		"trailing garbage":           valid + `x`,
		"two events":                 valid + valid,
		"id too long":                `{"specversion":"1.0","id":"` + strings.Repeat("a", 256) + `","source":"s","type":"x","data":{}}`,
		"unterminated":               `{"specversion":"1.0","id":"a","source":"s","type":"x","data":{"k":`,
		"data is not a json literal": `{"specversion":"1.0","id":"a","source":"s","type":"x","data":nope}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Parse([]byte(in))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestParse_RejectsOversizedInput(t *testing.T) {
	padding := strings.Repeat("a", MaxSize)
	in := `{"specversion":"1.0","id":"a","source":"s","type":"x","data":"` + padding + `"}`
	if _, err := Parse([]byte(in)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Parse of %d bytes: err = %v, want ErrInvalid", len(in), err)
	}
}

func TestDecodeData_ReportsMismatch(t *testing.T) {
	e, err := New("/helpdesk", TicketCreated, "", map[string]int{"title": 3})
	if err != nil {
		t.Fatal(err)
	}
	var v ticketCreated
	if err := e.DecodeData(&v); err == nil {
		t.Fatal("DecodeData of a number into a string field succeeded")
	}
}

func TestTypes_AreTheArchitecturesTypes(t *testing.T) {
	want := []string{"ticket.created", "ticket.updated", "ticket.assigned", "ticket.status_changed",
		"comment.created", "sla.warning", "sla.breached", "user.created", "user.updated"}
	got := Types()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Types() = %v, want %v", got, want)
	}
}

// FuzzParse feeds Parse hostile input. It must never panic, must wrap
// ErrInvalid on every rejection, and whatever it accepts must survive a
// re-encoding: encoding is then stable and the result parses again.
func FuzzParse(f *testing.F) {
	seeds := []string{
		`{"specversion":"1.0","id":"a","source":"s","type":"x","data":{}}`,
		`{"specversion":"1.0","id":"0b8e5bbf-5cc8-4a44-8a9e-0bd0c5d4e0f1","source":"/helpdesk","type":"ticket.created","time":"2026-11-02T10:00:00.123456789+01:00","subject":"t-1","datacontenttype":"application/json","data":{"ticket_id":"t-1","title":"<b>\u00e9</b>"}}`,
		`{"specversion":"1.0","id":"a","source":"s","type":"x","datacontenttype":"application/cloudevents+json; charset=utf-8","data":[1,2.5e10,"x",true,null]}`,
		`{"specversion":"1.0","id":"a","source":"s","type":"x","data":"\ud800"}`,
		`{"specversion":"1.0","id":"a","source":"s","type":"x","data":null}`,
		`{"specversion":"1.0","id":"a","source":"s","type":"x","data":{}} {}`,
		`{"SPECVERSION":"1.0","ID":"a","Source":"s","type":"x","data":1,"type":"y"}`,
		`{"specversion":"0.3"}`,
		`[]`,
		`"1.0"`,
		``,
		"\xff\xfe",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if err := e.Validate(); err != nil {
			t.Fatalf("Parse accepted an event that does not validate: %v", err)
		}
		b1, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("Marshal of a parsed event: %v", err)
		}
		if len(b1) > MaxSize {
			return // escaping grew it past the limit; nothing more to check
		}
		e2, err := Parse(b1)
		if err != nil {
			t.Fatalf("re-encoded event does not parse: %v\n%s", err, b1)
		}
		b2, err := json.Marshal(e2)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("encoding is not stable:\n%s\n%s", b1, b2)
		}
	})
}
