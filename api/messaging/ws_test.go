package messaging_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/ticketflow/ticketflow/api/messaging"
	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
)

// refusedDial checks that dialing is refused before the upgrade with status.
func refusedDial(t *testing.T, base, ticket string, header http.Header, status int) {
	t.Helper()
	ws, res, err := dial(base, ticket, header)
	if err == nil {
		_ = ws.Close()
		t.Fatalf("dial succeeded, want %d", status)
	}
	if res == nil || res.StatusCode != status {
		t.Fatalf("dial: %v, response %v, want %d", err, res, status)
	}
}

func TestWebSocket_RefusedBeforeTheUpgrade(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	fromDesk := http.Header{"Origin": {origin}}

	t.Run("without a ticket", func(t *testing.T) {
		refusedDial(t, e.url(), "", fromDesk, http.StatusUnauthorized)
	})
	t.Run("with a made-up ticket", func(t *testing.T) {
		refusedDial(t, e.url(), "bm90IGEgdGlja2V0IGF0IGFsbCwgbm90IGF0IGFsbCEhIQ", fromDesk, http.StatusUnauthorized)
	})
	t.Run("with an access token instead", func(t *testing.T) {
		refusedDial(t, e.url(), ana.token, fromDesk, http.StatusUnauthorized)
	})
	t.Run("with a used ticket", func(t *testing.T) {
		ticket := e.wsTicket(e.url(), ana)
		ws, _, err := dial(e.url(), ticket, fromDesk)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		refusedDial(t, e.url(), ticket, fromDesk, http.StatusUnauthorized)
	})
	t.Run("with an expired ticket", func(t *testing.T) {
		ticket := e.wsTicket(e.url(), ana)
		sum := sha256.Sum256([]byte(ticket))
		key := e.prefix + "messaging:ws-ticket:" + hex.EncodeToString(sum[:])
		if ttl := e.rdb.TTL(context.Background(), key).Val(); ttl <= 25*time.Second || ttl > 30*time.Second {
			t.Fatalf("ticket TTL = %s, want 30s", ttl)
		}
		e.rdb.PExpire(context.Background(), key, time.Millisecond)
		time.Sleep(10 * time.Millisecond)
		refusedDial(t, e.url(), ticket, fromDesk, http.StatusUnauthorized)
	})
	t.Run("from a foreign origin, without spending the ticket", func(t *testing.T) {
		ticket := e.wsTicket(e.url(), ana)
		refusedDial(t, e.url(), ticket, http.Header{"Origin": {"https://evil.example.com"}}, http.StatusForbidden)
		refusedDial(t, e.url(), ticket, http.Header{"Origin": {"null"}}, http.StatusForbidden)
		ws, _, err := dial(e.url(), ticket, fromDesk)
		if err != nil {
			t.Fatalf("the ticket was spent by a refused origin: %v", err)
		}
		_ = ws.Close()
	})
	t.Run("without being an upgrade", func(t *testing.T) {
		e.do("GET", "/messaging/ws?ticket="+e.wsTicket(e.url(), ana), "", nil).problem(t, http.StatusBadRequest)
	})
	t.Run("tickets are for signed-in users", func(t *testing.T) {
		e.do("POST", "/messaging/ws-tickets", "", nil).problem(t, http.StatusUnauthorized)
	})
}

func TestWebSocket_SubscribersGetNewCommentsButRequestersNoInternalNotes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, bob := e.user("Ana", authn.RoleEmployee), e.user("Bob", authn.RoleAgent)
	tk := e.ticket(ana)
	anaWS, bobWS := e.connect(ana), e.connect(bob)
	anaWS.subscribe(tk.ID)
	bobWS.subscribe(tk.ID)

	question := e.comment(ana, tk.ID, "Any news?", false)
	for _, c := range []*client{anaWS, bobWS} {
		var got messaging.Comment
		decode(t, c.next(messaging.FrameCommentCreated, tk.ID), &got)
		if got.ID != question.ID || got.Body != "Any news?" || got.AuthorName != "Ana" {
			t.Fatalf("comment.created = %+v", got)
		}
	}

	note := e.comment(bob, tk.ID, "Waiting for the vendor.", true)
	answer := e.comment(bob, tk.ID, "Soon!", false)
	var got messaging.Comment
	decode(t, bobWS.next(messaging.FrameCommentCreated, tk.ID), &got)
	if got.ID != note.ID || !got.Internal {
		t.Fatalf("agent got %+v, want the internal note", got)
	}
	// Frames of a ticket arrive in order: the requester's next comment
	// frame is the public answer, so the note was never sent.
	decode(t, anaWS.next(messaging.FrameCommentCreated, tk.ID), &got)
	if got.ID != answer.ID {
		t.Fatalf("requester got %+v, want the public answer", got)
	}

	// Edits and deletions follow the same rule.
	e.do("PATCH", "/messaging/comments/"+note.ID, bob.token, map[string]string{"body": "Vendor replied."}).ok(t, http.StatusOK, nil)
	e.do("PATCH", "/messaging/comments/"+answer.ID, bob.token, map[string]string{"body": "Tomorrow!"}).ok(t, http.StatusOK, nil)
	decode(t, anaWS.next(messaging.FrameCommentUpdated, tk.ID), &got)
	if got.ID != answer.ID || got.Body != "Tomorrow!" || got.EditedAt == nil {
		t.Fatalf("requester got %+v, want the edited answer", got)
	}
	decode(t, bobWS.next(messaging.FrameCommentUpdated, tk.ID), &got)
	if got.ID != note.ID {
		t.Fatalf("agent got %+v, want the edited note first", got)
	}
}

func TestWebSocket_ForeignTicketSubscriptionGetsAnErrorFrame(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, eve := e.user("Ana", authn.RoleEmployee), e.user("Eve", authn.RoleEmployee)
	tk := e.ticket(ana)
	eveWS := e.connect(eve)

	for _, id := range []string{tk.ID, uuid.NewString()} {
		eveWS.send(map[string]string{"type": messaging.FrameSubscribe, "ticket_id": id})
		var ed messaging.ErrorData
		f := eveWS.next(messaging.FrameError, "")
		decode(t, f, &ed)
		if f.TicketID != id || ed.Code != apperr.NotFound {
			t.Fatalf("error frame = %+v %+v", f, ed)
		}
	}
	e.comment(ana, tk.ID, "private matter", false)
	eveWS.none(messaging.FrameCommentCreated, 300*time.Millisecond)
}

func TestWebSocket_TypingAndPresence(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, bob := e.user("Ana", authn.RoleEmployee), e.user("Bob", authn.RoleAgent)
	tk := e.ticket(ana)
	anaWS, bobWS := e.connect(ana), e.connect(bob)

	if p := anaWS.subscribe(tk.ID); len(p.Viewers) != 1 || p.Viewers[0] != (messaging.Viewer{UserID: ana.id, Name: "Ana"}) {
		t.Fatalf("presence = %+v", p)
	}
	if p := bobWS.subscribe(tk.ID); len(p.Viewers) != 2 || p.Viewers[0].Name != "Ana" || p.Viewers[1].Name != "Bob" {
		t.Fatalf("presence = %+v", p)
	}
	var p messaging.Presence
	decode(t, anaWS.next(messaging.FramePresence, tk.ID), &p)
	if len(p.Viewers) != 2 {
		t.Fatalf("Ana sees viewers %+v", p.Viewers)
	}
	// A second tab of Bob's is still one viewer.
	if p := e.connect(bob).subscribe(tk.ID); len(p.Viewers) != 2 {
		t.Fatalf("presence with two tabs of Bob = %+v", p)
	}

	anaWS.send(map[string]string{"type": messaging.FrameTyping, "ticket_id": tk.ID})
	var typist messaging.Viewer
	decode(t, bobWS.next(messaging.FrameTyping, tk.ID), &typist)
	if typist != (messaging.Viewer{UserID: ana.id, Name: "Ana"}) {
		t.Fatalf("typing = %+v", typist)
	}
	anaWS.none(messaging.FrameTyping, 300*time.Millisecond)

	anaWS.send(map[string]string{"type": messaging.FrameUnsubscribe, "ticket_id": tk.ID})
	// Broadcasts are coalesced: earlier ones may still be on their way, so
	// read until Bob's view settles (each frame waits at most next's bound).
	for range 5 {
		decode(t, bobWS.next(messaging.FramePresence, tk.ID), &p)
		if len(p.Viewers) == 1 {
			break
		}
	}
	if len(p.Viewers) != 1 || p.Viewers[0].UserID != bob.id {
		t.Fatalf("after Ana left: %+v", p.Viewers)
	}
	// Typing needs a subscription.
	anaWS.send(map[string]string{"type": messaging.FrameTyping, "ticket_id": tk.ID})
	anaWS.next(messaging.FrameError, tk.ID)
}

func TestWebSocket_PresenceOfAVanishedReplicaExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	tk := e.ticket(ana)
	anaWS := e.connect(ana)
	anaWS.subscribe(tk.ID)
	// A viewer a dead replica left behind, expiring now.
	key := e.prefix + "messaging:presence:" + tk.ID
	e.rdb.ZAdd(context.Background(), key, redisZ(time.Now().Add(500*time.Millisecond), "gone|"+uuid.NewString()+"|Ghost"))
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		var p messaging.Presence
		decode(t, anaWS.next(messaging.FramePresence, tk.ID), &p)
		if len(p.Viewers) == 1 && p.Viewers[0].UserID == ana.id {
			return // the refresh dropped the ghost and told the viewers
		}
	}
	t.Fatal("the ghost viewer never expired")
}

func TestWebSocket_MalformedFramesAreAnsweredAndTheConnectionSurvives(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	tk := e.ticket(ana)
	c := e.connect(ana)

	for _, raw := range []string{
		`not json`,
		`[1,2,3]`,
		`{"type":"dance","ticket_id":"` + tk.ID + `"}`,
		`{"type":"subscribe"}`,
		`{"type":"subscribe","ticket_id":"../../etc"}`,
		`{"type":"typing","ticket_id":42}`,
	} {
		if err := c.ws.WriteMessage(websocket.TextMessage, []byte(raw)); err != nil {
			t.Fatal(err)
		}
		var ed messaging.ErrorData
		decode(t, c.next(messaging.FrameError, ""), &ed)
		if ed.Code != apperr.Invalid || ed.Message == "" {
			t.Fatalf("%s: error = %+v", raw, ed)
		}
	}
	if err := c.ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	c.next(messaging.FrameError, "")
	c.subscribe(tk.ID) // still open and working
}

func TestWebSocket_FloodIsClosedWithPolicyViolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	c := e.connect(ana)
	frame := []byte(`{"type":"typing","ticket_id":"` + uuid.NewString() + `"}`)
	for range 200 {
		if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
			break // closed under us: what we want
		}
	}
	if code := c.closeCode(); code != websocket.ClosePolicyViolation {
		t.Fatalf("close code = %d, want 1008", code)
	}
}

func TestWebSocket_OversizedFrameIsClosedWithTooBig(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.connect(e.user("Ana", authn.RoleEmployee))
	_ = c.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"typing","pad":"`+strings.Repeat("x", 8<<10)+`"}`))
	if code := c.closeCode(); code != websocket.CloseMessageTooBig {
		t.Fatalf("close code = %d, want 1009", code)
	}
}

func TestWebSocket_NotificationReachesOnlyItsUsersSockets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana, bob := e.user("Ana", authn.RoleEmployee), e.user("Bob", authn.RoleAgent)
	tk := e.ticket(ana)
	anaWS, anaTab, bobWS := e.connect(ana), e.connect(ana), e.connect(bob)
	// A confirmed subscription shows the hub is listening to Redis.
	anaWS.subscribe(tk.ID)

	notification := `{"id":"` + uuid.NewString() + `","kind":"comment","title":"Bob answered","read":false}`
	if err := e.rdb.Publish(context.Background(), e.prefix+"user:"+ana.id, notification).Err(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*client{anaWS, anaTab} {
		f := c.next(messaging.FrameNotification, "")
		if string(f.Data) != notification || f.TicketID != "" {
			t.Fatalf("notification frame = %+v", f)
		}
	}
	bobWS.none(messaging.FrameNotification, 300*time.Millisecond)
}

func TestWebSocket_ShutdownClosesEverySocketAsGoingAway(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	tk := e.ticket(ana)
	c := e.connect(ana)
	c.subscribe(tk.ID)

	e.replicas[0].stop()
	if code := c.closeCode(); code != websocket.CloseGoingAway {
		t.Fatalf("close code = %d, want 1001", code)
	}
	// The replica left no viewer behind.
	if n := e.rdb.ZCard(context.Background(), e.prefix+"messaging:presence:"+tk.ID).Val(); n != 0 {
		t.Fatalf("viewers after shutdown = %d", n)
	}
}

// TestWebSocket_SilentClientIsDroppedAfterPongWait checks the server's
// pings and read deadline: a client that never reads, and so never answers
// a ping, is closed and leaves the ticket's presence, while a client that
// reads (its library answers the pings) stays open across several PongWaits.
func TestWebSocket_SilentClientIsDroppedAfterPongWait(t *testing.T) {
	t.Parallel()
	const pongWait = 1500 * time.Millisecond
	e := newEnv(t, func(c *messaging.Config) {
		c.WebSocket.PingInterval = 200 * time.Millisecond
		c.WebSocket.PongWait = pongWait
	})
	ana, bob := e.user("Ana", authn.RoleEmployee), e.user("Bob", authn.RoleAgent)
	tk := e.ticket(ana)
	ctx := context.Background()
	key := e.prefix + "messaging:presence:" + tk.ID
	viewing := func(userID string) bool {
		members, err := e.rdb.ZRange(ctx, key, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			if strings.Contains(m, "|"+userID+"|") {
				return true
			}
		}
		return false
	}
	// waitFor polls cond until it holds or d has passed.
	waitFor := func(d time.Duration, cond func() bool) bool {
		for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if cond() {
				return true
			}
		}
		return cond()
	}

	reader := e.connect(bob)
	readerSince := time.Now()
	reader.subscribe(tk.ID)

	// Ana's client subscribes, then never reads again: the pings pile up
	// unanswered in its socket.
	silent, res, err := dial(e.url(), e.wsTicket(e.url(), ana), http.Header{"Origin": {origin}})
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, res)
	}
	defer silent.Close()
	if err := silent.WriteJSON(map[string]string{"type": messaging.FrameSubscribe, "ticket_id": tk.ID}); err != nil {
		t.Fatal(err)
	}
	if !waitFor(wait, func() bool { return viewing(ana.id) }) {
		t.Fatal("the silent client never joined the ticket's presence")
	}

	// Dropped once PongWait passes without a pong; the bound is only there
	// to end the test if it never happens.
	if !waitFor(10*pongWait, func() bool { return !viewing(ana.id) }) {
		t.Fatalf("the silent client is still a viewer %s after it went silent", 10*pongWait)
	}
	// Its connection is closed: reading now finds the end, not a timeout.
	_ = silent.SetReadDeadline(time.Now().Add(wait))
	for {
		if _, _, err = silent.ReadMessage(); err != nil {
			break
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the silent client's connection is still open: %v", err)
	}

	// The reading client lives on, across several PongWaits, and still works.
	if rest := 4*pongWait - time.Since(readerSince); rest > 0 {
		time.Sleep(rest)
	}
	select {
	case <-reader.done:
		t.Fatalf("the reading client was closed after %s: %v", time.Since(readerSince), reader.err)
	default:
	}
	if !viewing(bob.id) {
		t.Fatal("the reading client left the presence")
	}
	if p := reader.subscribe(e.ticket(ana).ID); len(p.Viewers) != 1 || p.Viewers[0].UserID != bob.id {
		t.Fatalf("presence on a new subscription = %+v", p)
	}
}

// redisZ is a presence entry expiring at.
func redisZ(at time.Time, member string) redis.Z {
	return redis.Z{Score: float64(at.UnixMilli()), Member: member}
}
