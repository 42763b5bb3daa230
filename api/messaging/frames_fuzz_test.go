package messaging

import (
	"encoding/json"
	"testing"
)

// FuzzFrames decodes hostile WebSocket frames the way the server does:
// a client's frame as handle reads it, and a ticket frame off the Redis
// bus as deliverTicketFrame reads it. Nothing panics; only a valid ticket
// ID passes validID; a comment frame whose internal flag cannot be read
// as false is kept from requesters.
func FuzzFrames(f *testing.F) {
	for _, seed := range []string{
		`{"type":"subscribe","ticket_id":"0195f0c8-7a3e-7b6e-9a0b-1c2d3e4f5a6b"}`,
		`{"type":"typing","ticket_id":"../../admin"}`,
		`{"type":"comment.created","data":{"internal":false,"body":"<script>alert(1)</script>"}}`,
		`{"type":"comment.created","data":{"internal":"false"}}`,
		`{"type":"comment.updated","data":null}`,
		`{"type":"comment.created","data":{"internal":true},"staff_only":false,"skip_user":"x"}`,
		`{"type":1}`,
		`[]`,
		`{"type":"subscribe","ticket_id":"0195F0C8-7A3E-7B6E-9A0B-1C2D3E4F5A6B\u0000"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var cf clientFrame
		if json.Unmarshal(data, &cf) == nil && validID(cf.TicketID) {
			if len(cf.TicketID) != 36 && len(cf.TicketID) != 38 && len(cf.TicketID) != 32 && len(cf.TicketID) != 45 {
				t.Fatalf("validID accepted %q", cf.TicketID)
			}
			for _, c := range []byte(cf.TicketID) {
				if c < 0x20 || c > 0x7e || c == '/' || c == '\\' || c == '.' {
					t.Fatalf("validID accepted %q, which holds %q", cf.TicketID, c)
				}
			}
		}
		var bf busFrame
		if json.Unmarshal(data, &bf) != nil {
			return
		}
		if _, err := json.Marshal(bf.Frame); err != nil {
			t.Fatalf("a decoded frame does not encode again: %v", err)
		}
		if bf.Type != FrameCommentCreated && bf.Type != FrameCommentUpdated {
			return
		}
		var c struct {
			Internal *bool `json:"internal"`
		}
		public := json.Unmarshal(bf.Data, &c) == nil && c.Internal != nil && !*c.Internal
		if !public && !isInternalComment(bf.Frame) {
			t.Fatalf("comment frame %s would reach requesters", data)
		}
	})
}
