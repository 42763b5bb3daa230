package messaging

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/logging"
)

// hub holds this replica's WebSocket connections and routes frames to them.
//
// Every frame travels through Redis, even to a socket of the replica that
// made it, so all replicas deliver the same frames in the same order.
// Each replica subscribes to the patterns <prefix>ticket:* and
// <prefix>user:* once, rather than to each ticket's channel as its
// sockets come and go: a subscription is then live the moment a socket
// asks for it, at the price of every replica reading every ticket's
// frames, which a help desk's traffic affords. A third channel,
// <prefix>messaging:sessions, tells every replica to close a user's
// sockets (see endSessions).
type hub struct {
	rdb      *redis.Client
	prefix   string
	opts     WebSocketOptions
	access   *accessChecker
	presence *presence
	log      *slog.Logger

	// ctx is the connections' context: it ends when the hub shuts down,
	// cutting short what they are waiting for.
	ctx    context.Context
	cancel context.CancelFunc
	// running counts the connections' goroutines.
	running sync.WaitGroup

	// announcing holds the tickets whose presence broadcast is scheduled:
	// joins and leaves within presenceCoalesce share one broadcast, so a
	// ticket with n viewers joining costs O(n) frames, not O(n²).
	announceMu sync.Mutex
	announcing map[string]bool

	mu      sync.RWMutex
	closed  bool
	conns   map[*wsConn]struct{}
	tickets map[string]map[*wsConn]struct{} // by subscribed ticket ID
	users   map[string]map[*wsConn]struct{} // by user ID
}

func newHub(rdb *redis.Client, prefix string, opts WebSocketOptions, access *accessChecker, log *slog.Logger) *hub {
	ctx, cancel := context.WithCancel(context.Background())
	return &hub{
		rdb:      rdb,
		prefix:   prefix,
		opts:     opts,
		access:   access,
		presence: &presence{rdb: rdb, prefix: prefix, ttl: opts.PresenceTTL},
		log:      log.With("component", "messaging.hub"),
		ctx:      ctx,
		cancel:   cancel,
		conns:    map[*wsConn]struct{}{},
		tickets:  map[string]map[*wsConn]struct{}{},
		users:    map[string]map[*wsConn]struct{}{},
	}
}

// ticketChannel is the Redis channel of a ticket's frames.
func (h *hub) ticketChannel(ticketID string) string { return h.prefix + "ticket:" + ticketID }

// sessionsChannel is the Redis channel that ends users' sockets on every
// replica. It is messaging's own: the web app never sees its messages.
func (h *hub) sessionsChannel() string { return h.prefix + sessionsChannelName }

const sessionsChannelName = "messaging:sessions"

// sessionEnd is a message of the sessions channel: close the user's
// sockets, with reason in the close frame.
type sessionEnd struct {
	UserID string `json:"user_id"`
	Reason string `json:"reason"`
}

// RunHub carries the live frames until ctx ends: it reads the Redis
// channels of every ticket and user, hands their frames to this replica's
// sockets and keeps their presence fresh. Then it closes every socket
// (1001, going away) and returns nil once their goroutines have ended; an
// HTTP server's shutdown does not, since upgraded connections are no
// longer its own.
func (s *Service) RunHub(ctx context.Context) error { return s.hub.run(ctx) }

func (h *hub) run(ctx context.Context) error {
	defer h.shutdown()
	ps := h.rdb.PSubscribe(ctx, globPattern(h.prefix)+"ticket:*", globPattern(h.prefix)+"user:*",
		globPattern(h.prefix)+sessionsChannelName)
	var wg sync.WaitGroup
	defer wg.Wait()
	// A blocked receive ignores its context; closing the subscription ends it.
	wg.Go(func() {
		<-ctx.Done()
		_ = ps.Close()
	})
	wg.Go(func() { h.refreshLoop(ctx) })

	failures := 0
	for {
		msg, err := ps.ReceiveMessage(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			// The subscription reconnects and resubscribes by itself on the
			// next receive; frames published meanwhile are lost, which live
			// updates tolerate (clients reload what they show on reconnect).
			failures++
			delay := min(time.Duration(failures)*200*time.Millisecond, 5*time.Second)
			h.log.Warn("redis subscription failed; retrying", "err", err, "retry_in", delay)
			if sleep(ctx, delay) != nil {
				return nil
			}
			continue
		}
		failures = 0
		h.dispatch(msg.Channel, msg.Payload)
	}
}

// refreshLoop refreshes this replica's presence entries every third of
// their life, and announces tickets whose viewers expired elsewhere.
func (h *hub) refreshLoop(ctx context.Context) {
	t := time.NewTicker(h.opts.PresenceTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.refreshPresence(ctx)
		}
	}
}

func (h *hub) refreshPresence(ctx context.Context) {
	members := map[string][]string{}
	h.mu.RLock()
	for ticketID, conns := range h.tickets {
		for c := range conns {
			members[ticketID] = append(members[ticketID], c.member)
		}
	}
	h.mu.RUnlock()
	if len(members) == 0 {
		return
	}
	changed, err := h.presence.refresh(ctx, members)
	if err != nil {
		h.log.Warn("refresh presence", "err", err)
		return
	}
	for _, ticketID := range changed {
		viewers, err := h.presence.viewers(ctx, ticketID)
		if err != nil {
			h.log.Warn("read presence", "ticket_id", ticketID, "err", err)
			continue
		}
		h.publishPresence(ctx, ticketID, viewers)
	}
}

// shutdown refuses new connections, closes the open ones and waits for
// them to finish.
func (h *hub) shutdown() {
	h.mu.Lock()
	h.closed = true
	conns := make([]*wsConn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	h.cancel()
	for _, c := range conns {
		c.shutdown(websocket.CloseGoingAway, "server shutting down")
	}
	h.running.Wait()
}

// attach starts serving an upgraded connection of u, or closes it when
// the hub is shutting down (and returns nil).
func (h *hub) attach(ws *websocket.Conn, u authn.User, name string) *wsConn {
	c := newWSConn(h, ws, u, name)
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		_ = ws.Close()
		return nil
	}
	h.conns[c] = struct{}{}
	add(h.users, u.ID, c)
	h.running.Add(2)
	h.mu.Unlock()
	go func() {
		defer h.running.Done()
		c.readLoop()
	}()
	go func() {
		defer h.running.Done()
		c.writeLoop()
	}()
	return c
}

// detach forgets a connection that has ended.
func (h *hub) detach(c *wsConn, subscriptions []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c)
	remove(h.users, c.user.ID, c)
	for _, ticketID := range subscriptions {
		remove(h.tickets, ticketID, c)
	}
}

// subscribe routes the ticket's frames to c too.
func (h *hub) subscribe(c *wsConn, ticketID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	add(h.tickets, ticketID, c)
}

// unsubscribe stops routing the ticket's frames to c.
func (h *hub) unsubscribe(c *wsConn, ticketID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	remove(h.tickets, ticketID, c)
}

func add(index map[string]map[*wsConn]struct{}, key string, c *wsConn) {
	set := index[key]
	if set == nil {
		set = map[*wsConn]struct{}{}
		index[key] = set
	}
	set[c] = struct{}{}
}

func remove(index map[string]map[*wsConn]struct{}, key string, c *wsConn) {
	if set := index[key]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(index, key)
		}
	}
}

// dispatch hands a message of a ticket's or a user's channel to the
// sockets here that should get it.
func (h *hub) dispatch(channel, payload string) {
	rest, ok := strings.CutPrefix(channel, h.prefix)
	if !ok {
		return
	}
	if ticketID, ok := strings.CutPrefix(rest, "ticket:"); ok {
		h.deliverTicketFrame(ticketID, payload)
	} else if userID, ok := strings.CutPrefix(rest, "user:"); ok {
		h.deliverNotification(userID, payload)
	} else if rest == sessionsChannelName {
		h.closeSessions(payload)
	}
}

// endSessions closes the user's sockets on every replica, with 1008
// (policy violation) and reason; the client may open a new one, which
// gets the user's rights of then.
func (h *hub) endSessions(ctx context.Context, userID, reason string) error {
	raw, err := json.Marshal(sessionEnd{UserID: userID, Reason: reason})
	if err != nil {
		return fmt.Errorf("encode session end: %w", err)
	}
	if err := h.rdb.Publish(ctx, h.sessionsChannel(), raw).Err(); err != nil {
		return fmt.Errorf("end the websockets of user %s: %w", userID, err)
	}
	return nil
}

// closeSessions closes this replica's sockets of the user a sessions
// message names. They get no frame routed after this: delivery skips a
// closing socket, and Redis hands this replica its channels' messages in
// the order they were published.
func (h *hub) closeSessions(payload string) {
	var m sessionEnd
	if err := json.Unmarshal([]byte(payload), &m); err != nil || !validID(m.UserID) ||
		(m.Reason != reasonRoleChanged && m.Reason != reasonDeactivated) {
		h.log.Warn("dropping a malformed session end", "err", err)
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.users[m.UserID] {
		c.shutdown(websocket.ClosePolicyViolation, m.Reason)
	}
}

// deliverTicketFrame sends a ticket's frame to its subscribers here,
// encoded once for all of them.
func (h *hub) deliverTicketFrame(ticketID, payload string) {
	var bf busFrame
	if err := json.Unmarshal([]byte(payload), &bf); err != nil || bf.Type == "" {
		h.log.Warn("dropping a malformed ticket frame", "ticket_id", ticketID, "err", err)
		return
	}
	bf.TicketID = ticketID
	staffOnly := bf.StaffOnly || isInternalComment(bf.Frame)
	msg, err := json.Marshal(bf.Frame)
	if err != nil {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.tickets[ticketID] {
		if c.closing() || (staffOnly && !c.user.IsStaff()) || (bf.SkipUser != "" && c.user.ID == bf.SkipUser) {
			continue
		}
		c.enqueue(msg)
	}
}

// deliverNotification wraps a notification, as the notification service
// published it on the user's channel, in a frame for the user's sockets.
func (h *hub) deliverNotification(userID, payload string) {
	if !json.Valid([]byte(payload)) {
		h.log.Warn("dropping a notification that is not JSON", "user_id", userID)
		return
	}
	msg, err := json.Marshal(Frame{Type: FrameNotification, Data: json.RawMessage(payload)})
	if err != nil {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	for c := range h.users[userID] {
		if !c.closing() {
			c.enqueue(msg)
		}
	}
}

// publish sends a frame to the ticket's subscribers on every replica.
func (h *hub) publish(ctx context.Context, ticketID string, bf busFrame) error {
	bf.TicketID = ticketID
	raw, err := json.Marshal(bf)
	if err != nil {
		return fmt.Errorf("encode %s frame: %w", bf.Type, err)
	}
	if err := h.rdb.Publish(ctx, h.ticketChannel(ticketID), raw).Err(); err != nil {
		return fmt.Errorf("publish %s frame of ticket %s: %w", bf.Type, ticketID, err)
	}
	return nil
}

// publishData publishes a frame whose data is v.
func (h *hub) publishData(ctx context.Context, ticketID, typ string, v any, staffOnly bool, skipUser string) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s frame: %w", typ, err)
	}
	return h.publish(ctx, ticketID, busFrame{Frame: Frame{Type: typ, Data: data}, StaffOnly: staffOnly, SkipUser: skipUser})
}

// broadcastComment sends a new, edited or deleted comment live. It is best
// effort: the comment is stored, and clients that missed the frame see it
// when they next load the conversation.
func (h *hub) broadcastComment(ctx context.Context, typ string, c Comment) {
	// The comment is committed: a caller hanging up now must not stop it
	// from going out.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), frameWorkTimeout)
	defer cancel()
	if err := h.publishData(ctx, c.TicketID, typ, c, c.Internal, ""); err != nil {
		logging.FromContext(ctx, h.log).Warn("comment not sent live", "ticket_id", c.TicketID, "comment_id", c.ID, "err", err)
	}
}

// presenceCoalesce is how long joins and leaves of one ticket gather before
// its viewers are broadcast.
const presenceCoalesce = 200 * time.Millisecond

// announcePresence broadcasts the ticket's viewers once presenceCoalesce
// has passed, reading them then; calls meanwhile join that broadcast.
func (h *hub) announcePresence(ticketID string) {
	h.announceMu.Lock()
	defer h.announceMu.Unlock()
	if h.announcing[ticketID] {
		return
	}
	if h.announcing == nil {
		h.announcing = map[string]bool{}
	}
	h.announcing[ticketID] = true
	time.AfterFunc(presenceCoalesce, func() {
		h.announceMu.Lock()
		delete(h.announcing, ticketID)
		h.announceMu.Unlock()
		if h.ctx.Err() != nil {
			return // shut down
		}
		ctx, cancel := context.WithTimeout(h.ctx, frameWorkTimeout)
		defer cancel()
		viewers, err := h.presence.viewers(ctx, ticketID)
		if err != nil {
			h.log.Warn("read presence", "ticket_id", ticketID, "err", err)
			return
		}
		h.publishPresence(ctx, ticketID, viewers)
	})
}

// publishPresence announces the ticket's viewers.
func (h *hub) publishPresence(ctx context.Context, ticketID string, viewers []Viewer) {
	if viewers == nil {
		viewers = []Viewer{}
	}
	if err := h.publishData(ctx, ticketID, FramePresence, Presence{TicketID: ticketID, Viewers: viewers}, false, ""); err != nil {
		h.log.Warn("presence not sent", "ticket_id", ticketID, "err", err)
	}
}

// globPattern escapes the glob characters of a Redis prefix, so that a
// pattern built on it matches the prefix literally.
func globPattern(prefix string) string {
	var b strings.Builder
	for _, r := range prefix {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// sleep waits for d or until ctx is done, returning ctx's error then.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
