package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
)

// WebSocketOptions tune the live connections; zero values take the
// defaults.
type WebSocketOptions struct {
	// PingInterval is how often the server pings a client. Default 25 s.
	PingInterval time.Duration
	// PongWait is how long a client may stay silent (no pong) before its
	// connection is taken for dead and closed. Default 60 s.
	PongWait time.Duration
	// WriteWait bounds one write to a client. Default 10 s.
	WriteWait time.Duration
	// SendBuffer is how many frames may wait for a client; a client that
	// lets it fill up is too slow and is disconnected, so it never holds
	// up the others. Default 64.
	SendBuffer int
	// MaxFrameBytes is the largest frame a client may send; a larger one
	// closes the connection with 1009. Default 4 KiB.
	MaxFrameBytes int64
	// FrameRate is how many frames per second a client may send, in bursts
	// of up to FrameBurst; a client sending more is closed with 1008.
	// Defaults 10 and 30.
	FrameRate  float64
	FrameBurst int
	// MaxSubscriptions bounds the tickets one connection follows. Default 100.
	MaxSubscriptions int
	// PresenceTTL is how long a viewer stays listed without a refresh; a
	// replica refreshes its own every third of it. Default 60 s.
	PresenceTTL time.Duration
}

func (o *WebSocketOptions) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.PingInterval, 25*time.Second)
	def(&o.PongWait, 60*time.Second)
	def(&o.WriteWait, 10*time.Second)
	def(&o.PresenceTTL, 60*time.Second)
	if o.SendBuffer <= 0 {
		o.SendBuffer = 64
	}
	if o.MaxFrameBytes <= 0 {
		o.MaxFrameBytes = 4 << 10
	}
	if o.FrameRate <= 0 {
		o.FrameRate = 10
	}
	if o.FrameBurst <= 0 {
		o.FrameBurst = 30
	}
	if o.MaxSubscriptions <= 0 {
		o.MaxSubscriptions = 100
	}
}

const (
	// closeGrace is how long a closing connection waits for the client's
	// close frame before it drops the TCP connection.
	closeGrace = time.Second
	// frameWorkTimeout bounds what one client frame may cost: an access
	// check, a presence update.
	frameWorkTimeout = 5 * time.Second
)

// wsConn is one client's WebSocket. Two goroutines serve it: readLoop
// reads and handles the client's frames; writeLoop owns every write
// (frames, pings, the close frame) and the end of the connection.
type wsConn struct {
	hub    *hub
	ws     *websocket.Conn
	id     string
	user   authn.User
	viewer Viewer
	member string // this connection in presence sets

	// send queues frames for writeLoop. It is never closed; done ends it.
	send chan []byte

	closeOnce sync.Once
	done      chan struct{} // closed by shutdown
	closeCode int           // set before done is closed
	closeText string
	// readerDone is closed when readLoop has returned.
	readerDone chan struct{}

	// Owned by readLoop; read by writeLoop only after readerDone.
	subs   map[string]struct{}
	budget frameBudget
}

func newWSConn(h *hub, ws *websocket.Conn, u authn.User, name string) *wsConn {
	id := uuid.NewString()
	v := Viewer{UserID: u.ID, Name: name}
	return &wsConn{
		hub:        h,
		ws:         ws,
		id:         id,
		user:       u,
		viewer:     v,
		member:     presenceMember(id, v),
		send:       make(chan []byte, h.opts.SendBuffer),
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
		subs:       map[string]struct{}{},
		budget:     frameBudget{rate: h.opts.FrameRate, burst: float64(h.opts.FrameBurst)},
	}
}

// enqueue queues a frame without ever blocking: a client whose buffer is
// full is disconnected instead.
func (c *wsConn) enqueue(msg []byte) {
	select {
	case c.send <- msg:
	default:
		c.shutdown(websocket.ClosePolicyViolation, "too slow: frames were not read")
	}
}

// shutdown asks writeLoop to close the connection with code; the first
// call decides the code. It never blocks.
func (c *wsConn) shutdown(code int, text string) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeText = code, text
		close(c.done)
	})
}

func (c *wsConn) closing() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// writeLoop writes queued frames and pings until the connection is shut
// down, then closes it and cleans up after it.
func (c *wsConn) writeLoop() {
	ping := time.NewTicker(c.hub.opts.PingInterval)
	defer ping.Stop()
	defer c.finish()
	for {
		select {
		case <-c.done:
			return
		case msg := <-c.send:
			_ = c.ws.SetWriteDeadline(time.Now().Add(c.hub.opts.WriteWait))
			if err := c.ws.WriteMessage(websocket.TextMessage, msg); err != nil {
				c.shutdown(websocket.CloseAbnormalClosure, "")
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.hub.opts.WriteWait)); err != nil {
				c.shutdown(websocket.CloseAbnormalClosure, "")
				return
			}
		}
	}
}

// finish says goodbye with the close code, gives the client closeGrace to
// answer, drops the connection, and removes it from the hub and from the
// presence of the tickets it viewed.
func (c *wsConn) finish() {
	if c.closeCode != websocket.CloseAbnormalClosure {
		msg := websocket.FormatCloseMessage(c.closeCode, c.closeText)
		_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.hub.opts.WriteWait))
		grace := time.NewTimer(closeGrace)
		select {
		case <-c.readerDone:
		case <-grace.C:
		}
		grace.Stop()
	}
	_ = c.ws.Close()
	<-c.readerDone

	subs := make([]string, 0, len(c.subs))
	for ticketID := range c.subs {
		subs = append(subs, ticketID)
	}
	c.hub.detach(c, subs)
	// The hub may be shutting down: leave presence on a context of our own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.hub.ctx), frameWorkTimeout)
	defer cancel()
	for _, ticketID := range subs {
		c.leavePresence(ctx, ticketID)
	}
}

// readLoop reads the client's frames until the connection fails or is
// closed. Once closing, it only drains, waiting for the client's close.
func (c *wsConn) readLoop() {
	defer close(c.readerDone)
	defer c.shutdown(websocket.CloseNormalClosure, "")
	c.ws.SetReadLimit(c.hub.opts.MaxFrameBytes)
	_ = c.ws.SetReadDeadline(time.Now().Add(c.hub.opts.PongWait))
	c.ws.SetPongHandler(func(string) error {
		if c.closing() {
			return nil
		}
		return c.ws.SetReadDeadline(time.Now().Add(c.hub.opts.PongWait))
	})
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if c.closing() {
			continue
		}
		if !c.budget.take(time.Now()) {
			c.shutdown(websocket.ClosePolicyViolation, "too many frames")
			continue
		}
		if typ != websocket.TextMessage {
			c.sendError("", apperr.Invalid, "frames must be JSON text")
			continue
		}
		c.handle(data)
	}
}

// clientFrame is a frame a client sends.
type clientFrame struct {
	Type     string `json:"type"`
	TicketID string `json:"ticket_id"`
}

// handle serves one client frame; what goes wrong is answered with an
// error frame and the connection stays open.
func (c *wsConn) handle(data []byte) {
	var f clientFrame
	if err := json.Unmarshal(data, &f); err != nil {
		c.sendError("", apperr.Invalid, "a frame must be a JSON object {type, ticket_id}")
		return
	}
	switch f.Type {
	case FrameSubscribe, FrameUnsubscribe, FrameTyping:
	default:
		c.sendError(f.TicketID, apperr.Invalid, "unknown frame type; send subscribe, unsubscribe or typing")
		return
	}
	if !validID(f.TicketID) {
		c.sendError("", apperr.Invalid, "ticket_id must be a ticket's ID")
		return
	}
	ctx, cancel := context.WithTimeout(c.hub.ctx, frameWorkTimeout)
	defer cancel()
	switch f.Type {
	case FrameSubscribe:
		c.subscribe(ctx, f.TicketID)
	case FrameUnsubscribe:
		c.unsubscribe(ctx, f.TicketID)
	case FrameTyping:
		c.typing(ctx, f.TicketID)
	}
}

// subscribe follows a ticket the user may see and announces them as a
// viewer; the presence frame that follows confirms the subscription.
func (c *wsConn) subscribe(ctx context.Context, ticketID string) {
	if _, ok := c.subs[ticketID]; !ok && len(c.subs) >= c.hub.opts.MaxSubscriptions {
		c.sendError(ticketID, apperr.TooManyRequests, "too many subscriptions on this connection")
		return
	}
	if _, err := c.hub.access.check(ctx, ticketID, c.user); err != nil {
		c.sendAppError(ticketID, err)
		return
	}
	c.subs[ticketID] = struct{}{}
	c.hub.subscribe(c, ticketID)
	viewers, err := c.hub.presence.join(ctx, ticketID, c.member)
	if err != nil {
		c.hub.log.Warn("join presence", "ticket_id", ticketID, "err", err)
		return
	}
	// The joiner learns the viewers at once, which confirms the
	// subscription; the others hear of the join in the next broadcast.
	if data, err := json.Marshal(Presence{TicketID: ticketID, Viewers: nonNil(viewers)}); err == nil {
		if msg, err := json.Marshal(Frame{Type: FramePresence, TicketID: ticketID, Data: data}); err == nil {
			c.enqueue(msg)
		}
	}
	c.hub.announcePresence(ticketID)
}

func nonNil(v []Viewer) []Viewer {
	if v == nil {
		return []Viewer{}
	}
	return v
}

// unsubscribe stops following a ticket.
func (c *wsConn) unsubscribe(ctx context.Context, ticketID string) {
	if _, ok := c.subs[ticketID]; !ok {
		return
	}
	delete(c.subs, ticketID)
	c.hub.unsubscribe(c, ticketID)
	c.leavePresence(ctx, ticketID)
}

// leavePresence removes this connection from the ticket's viewers and
// tells the ones who remain.
func (c *wsConn) leavePresence(ctx context.Context, ticketID string) {
	if _, err := c.hub.presence.leave(ctx, ticketID, c.member); err != nil {
		c.hub.log.Warn("leave presence", "ticket_id", ticketID, "err", err)
		return
	}
	c.hub.announcePresence(ticketID)
}

// typing tells the ticket's other viewers that this user is typing.
func (c *wsConn) typing(ctx context.Context, ticketID string) {
	if _, ok := c.subs[ticketID]; !ok {
		c.sendError(ticketID, apperr.Invalid, "subscribe to the ticket first")
		return
	}
	if err := c.hub.publishData(ctx, ticketID, FrameTyping, c.viewer, false, c.user.ID); err != nil {
		c.hub.log.Warn("typing not sent", "ticket_id", ticketID, "err", err)
	}
}

// sendAppError answers with the error's code and message; internal
// failures are not described to the client.
func (c *wsConn) sendAppError(ticketID string, err error) {
	code := apperr.CodeOf(err)
	var e *apperr.Error
	if code == apperr.Internal || !errors.As(err, &e) {
		c.hub.log.Error("websocket frame failed", "ticket_id", ticketID, "user_id", c.user.ID, "err", err)
		c.sendError(ticketID, apperr.Internal, "internal error")
		return
	}
	c.sendError(ticketID, code, e.Message)
}

func (c *wsConn) sendError(ticketID string, code apperr.Code, message string) {
	msg, err := encodeFrame(FrameError, ticketID, ErrorData{Code: code, Message: message})
	if err == nil {
		c.enqueue(msg)
	}
}

// frameBudget is a token bucket limiting the frames a client sends. Only
// readLoop uses it.
type frameBudget struct {
	rate, burst float64
	tokens      float64
	last        time.Time
}

// take spends one token and reports whether there was one.
func (b *frameBudget) take(now time.Time) bool {
	if b.last.IsZero() {
		b.tokens = b.burst
	} else {
		b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
