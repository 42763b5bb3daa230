package messaging_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ticketflow/ticketflow/api/messaging"
)

// wait is how long a test waits for a frame that should come.
const wait = 5 * time.Second

// client is a test's WebSocket: a reader goroutine queues the frames it
// receives until the connection ends.
type client struct {
	t      testing.TB
	ws     *websocket.Conn
	frames chan messaging.Frame
	done   chan struct{}
	err    error // why reading ended; set before done is closed
}

// wsTicket gets a one-time WebSocket ticket from base for p.
func (e *env) wsTicket(base string, p person) string {
	e.t.Helper()
	var t messaging.WSTicket
	e.call(base, "POST", "/messaging/ws-tickets", p.token, nil).ok(e.t, http.StatusOK, &t)
	if t.Ticket == "" || t.ExpiresIn != 30 {
		e.t.Fatalf("ws ticket = %+v", t)
	}
	return t.Ticket
}

// dial opens a WebSocket to base with ticket and the given headers.
func dial(base, ticket string, header http.Header) (*websocket.Conn, *http.Response, error) {
	u := "ws" + strings.TrimPrefix(base, "http") + "/messaging/ws?ticket=" + url.QueryEscape(ticket)
	return websocket.DefaultDialer.Dial(u, header)
}

// connect opens p's WebSocket to replica 0.
func (e *env) connect(p person) *client { return e.connectTo(e.url(), p) }

// connectTo opens p's WebSocket to the replica at base, from the allowed origin.
func (e *env) connectTo(base string, p person) *client {
	e.t.Helper()
	ws, res, err := dial(base, e.wsTicket(base, p), http.Header{"Origin": {origin}})
	if err != nil {
		e.t.Fatalf("dial: %v (%v)", err, res)
	}
	c := &client{t: e.t, ws: ws, frames: make(chan messaging.Frame, 256), done: make(chan struct{})}
	go c.read()
	e.t.Cleanup(func() {
		_ = ws.Close()
		<-c.done
	})
	return c
}

func (c *client) read() {
	defer close(c.done)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.err = err
			return
		}
		var f messaging.Frame
		if err := json.Unmarshal(data, &f); err != nil {
			c.err = err
			return
		}
		c.frames <- f
	}
}

// send writes v as a JSON text frame.
func (c *client) send(v any) {
	c.t.Helper()
	if err := c.ws.WriteJSON(v); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// next returns the next frame of type typ for ticketID (any ticket when
// empty), skipping others, or fails after wait.
func (c *client) next(typ, ticketID string) messaging.Frame {
	c.t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case f := <-c.frames:
			if f.Type == typ && (ticketID == "" || f.TicketID == ticketID) {
				return f
			}
		case <-c.done:
			c.t.Fatalf("connection ended waiting for %s: %v", typ, c.err)
		case <-deadline:
			c.t.Fatalf("no %s frame within %s", typ, wait)
		}
	}
}

// none fails if a frame of type typ arrives within d.
func (c *client) none(typ string, d time.Duration) {
	c.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f := <-c.frames:
			if f.Type == typ {
				c.t.Fatalf("unexpected %s frame: %s", typ, f.Data)
			}
		case <-deadline:
			return
		}
	}
}

// subscribe follows a ticket and waits for the presence frame that
// confirms it.
func (c *client) subscribe(ticketID string) messaging.Presence {
	c.t.Helper()
	c.send(map[string]string{"type": messaging.FrameSubscribe, "ticket_id": ticketID})
	var p messaging.Presence
	decode(c.t, c.next(messaging.FramePresence, ticketID), &p)
	return p
}

// closeError waits for the server to close the connection and returns its
// close frame.
func (c *client) closeError() *websocket.CloseError {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(wait):
		c.t.Fatal("connection still open")
	}
	var ce *websocket.CloseError
	if !errors.As(c.err, &ce) {
		c.t.Fatalf("connection ended with %v, not a close frame", c.err)
	}
	return ce
}

// closeCode is the code of closeError's frame.
func (c *client) closeCode() int {
	c.t.Helper()
	return c.closeError().Code
}

// decode reads a frame's data into v.
func decode(t testing.TB, f messaging.Frame, v any) {
	t.Helper()
	if err := json.Unmarshal(f.Data, v); err != nil {
		t.Fatalf("decode %s frame %s: %v", f.Type, f.Data, err)
	}
}
