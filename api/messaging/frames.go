package messaging

import (
	"encoding/json"

	"github.com/ticketflow/ticketflow/internal/apperr"
)

// The types of the frames a client sends.
const (
	// FrameSubscribe asks for a ticket's frames (ticket_id); only tickets
	// the user may see. The first presence frame of the ticket confirms it.
	FrameSubscribe = "subscribe"
	// FrameUnsubscribe stops them.
	FrameUnsubscribe = "unsubscribe"
	// FrameTyping says the user is typing in a subscribed ticket; the
	// others subscribed get a typing frame. Clients send it at most every
	// couple of seconds while typing.
	FrameTyping = "typing"
)

// The types of the frames the server sends.
const (
	// FrameCommentCreated carries a new Comment; internal notes go to
	// agents and admins only.
	FrameCommentCreated = "comment.created"
	// FrameCommentUpdated carries an edited or deleted Comment, with the
	// same rule.
	FrameCommentUpdated = "comment.updated"
	// FrameTicketUpdated carries the data of a ticket.updated,
	// ticket.assigned or ticket.status_changed event.
	FrameTicketUpdated = "ticket.updated"
	// FramePresence carries a Presence: who is viewing the ticket now.
	FramePresence = "presence"
	// FrameNotification carries one of the user's in-app notifications, as
	// the notification service published it; no subscription needed.
	FrameNotification = "notification"
	// FrameError carries an ErrorData answering a frame that could not be
	// served; the connection stays open.
	FrameError = "error"
)

// Frame is one WebSocket message, either way: JSON {type, ticket_id, data}.
type Frame struct {
	Type     string          `json:"type"`
	TicketID string          `json:"ticket_id,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
}

// ErrorData is the data of an error frame.
type ErrorData struct {
	Code    apperr.Code `json:"code"`
	Message string      `json:"message"`
}

// Viewer is a user viewing a ticket; the data of a typing frame too.
type Viewer struct {
	UserID string `json:"user_id"`
	Name   string `json:"name"`
}

// Presence is the data of a presence frame: everyone subscribed to the
// ticket on any replica, each user once.
type Presence struct {
	TicketID string   `json:"ticket_id"`
	Viewers  []Viewer `json:"viewers"`
}

// busFrame is a frame as it travels on a ticket's Redis channel, with what
// the receiving replicas need to route it. The routing fields are
// flattened beside the frame's, so a plain frame is a valid busFrame too.
type busFrame struct {
	Frame
	// StaffOnly frames (internal notes) go to agents' and admins' sockets.
	StaffOnly bool `json:"staff_only,omitempty"`
	// SkipUser is not sent the frame: the one typing.
	SkipUser string `json:"skip_user,omitempty"`
}

// encodeFrame returns the JSON of a frame whose data is v.
func encodeFrame(typ, ticketID string, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return json.Marshal(Frame{Type: typ, TicketID: ticketID, Data: data})
}

// isInternalComment reports whether a comment frame carries an internal
// note, whatever its sender set as StaffOnly: a second lock on the door.
func isInternalComment(f Frame) bool {
	if f.Type != FrameCommentCreated && f.Type != FrameCommentUpdated {
		return false
	}
	var c struct {
		Internal *bool `json:"internal"`
	}
	if err := json.Unmarshal(f.Data, &c); err != nil {
		return true // unreadable: not something to show a requester
	}
	return c.Internal == nil || *c.Internal
}
