package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/ticketflow/ticketflow/internal/loadtest"
)

// The steps of a reply: the agent's POST, and each delivery of the comment
// on a requester's WebSocket, timed from just before the POST.
const (
	stepPost      = "post"
	stepDelivered = "delivered"
	streamReply   = "reply"
)

type replyOptions struct {
	rate        float64
	duration    time.Duration
	tickets     int
	subscribers int
	wait        time.Duration
	maxInFlight int
	compare     bool
}

func newLoadReplyCommand(statePath *string) *cobra.Command {
	var (
		o    replyOptions
		meas measureFlags
	)
	cmd := &cobra.Command{
		Use:   "reply",
		Short: "Post agents' public comments at a rate and time their delivery on the requesters' WebSockets",
		Long: `reply measures "an agent answers → the requester sees it". Before the clock
starts, the desk's employees open --tickets tickets (round robin), and each
ticket's requester opens --subscribers WebSockets (POST /messaging/ws-tickets,
GET /messaging/ws?ticket=) subscribed to it. Then the desk's agents post public
comments (POST /messaging/tickets/{id}/comments) at --rate per second for
--duration, open-loop, spread over the tickets round robin.

Two latencies are reported: "post", the POST's round trip, and "delivered",
from just before the POST to the comment.created frame carrying the same
comment id on each of the ticket's requester sockets (one sample per socket).
A comment not delivered to every socket within --wait counts as an error
("delivery: missing"), and the report's notes give the missing deliveries.

--compare runs, at the same rate and interleaved, the bare PostgreSQL
baseline on DATABASE_URL (a schema of its own, created and dropped, a pool of
4): a plain INSERT of a ticket-shaped row. The report gives the p50, p99 and
throughput of "post" and "delivered" over the insert's.`,
		Example: `  ticketflow load reply --rate 200 --duration 30s --subscribers 1`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.rate <= 0 || o.tickets < 1 || o.subscribers < 1 {
				return errors.New("--rate, --tickets and --subscribers must be positive")
			}
			st, err := readLoadState(*statePath)
			if err != nil {
				return err
			}
			return runReply(cmd, st, o, meas)
		},
	}
	cmd.Flags().Float64Var(&o.rate, "rate", 200, "comments per second")
	cmd.Flags().DurationVar(&o.duration, "duration", 30*time.Second, "how long arrivals go on")
	cmd.Flags().IntVar(&o.tickets, "tickets", 20, "tickets the comments are spread over, each with its requester's sockets")
	cmd.Flags().IntVar(&o.subscribers, "subscribers", 1, "requester WebSockets subscribed to each ticket")
	cmd.Flags().DurationVar(&o.wait, "wait", 10*time.Second, "how long a comment may take to reach every socket before it counts as missing")
	cmd.Flags().IntVar(&o.maxInFlight, "max-in-flight", 2000, "comments in flight; arrivals over it are dropped and counted as errors")
	cmd.Flags().BoolVar(&o.compare, "compare", false, "run the bare baseline beside, interleaved: a plain PostgreSQL insert")
	meas.register(cmd)
	return cmd
}

// replyTicket is a ticket of the run and the sockets subscribed to it.
type replyTicket struct {
	id      string
	sockets []*replySocket
}

// replyScenario holds what every comment uses.
type replyScenario struct {
	c       *loadClient
	o       replyOptions
	agents  []*session
	tickets []*replyTicket
	next    atomic.Int64
	waiting *deliveries
	missing atomic.Int64
}

func runReply(cmd *cobra.Command, st *loadState, o replyOptions, meas measureFlags) error {
	ctx := cmd.Context()
	s := &replyScenario{c: newLoadClient(st.Base), o: o, waiting: newDeliveries()}
	var err error
	if s.agents, err = s.c.signInAll(ctx, st.Agents, st.Password); err != nil {
		return err
	}
	employees, err := s.c.signInAll(ctx, st.Employees, st.Password)
	if err != nil {
		return err
	}
	if err := s.setUp(ctx, st, employees); err != nil {
		return err
	}
	defer s.closeSockets()

	report := newReport(cmd, "reply")
	report.Notes = append(report.Notes, fmt.Sprintf("reply: POST %s/messaging/tickets/{id}/comments as %d agents over %d tickets, %d requester socket(s) each (%d sockets)",
		st.Base, len(s.agents), o.tickets, o.subscribers, o.tickets*o.subscribers))
	var bl *baselines
	if o.compare {
		if bl, err = startBaselines(ctx, report, baselineOptions{}); err != nil {
			return err
		}
		defer bl.close(ctx)
	}
	ms, err := meas.start(ctx)
	if err != nil {
		return err
	}
	stream := loadtest.NewStream(streamReply, stepPost, stepDelivered)
	runs := []streamRun{{stream: stream, rate: o.rate, op: s.reply}}
	if bl != nil {
		runs = append(runs, bl.runs(0, o.rate, 0)...)
	}
	stop := ms.progress(ctx, cmd, fmt.Sprintf("reply %g/s", o.rate), o.duration, streamsOf(runs)...)
	runInterleaved(ctx, runs, o.duration, o.maxInFlight, 0)
	stop()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, t := range s.tickets {
		for _, sock := range t.sockets {
			if err := sock.failure(); err != nil {
				report.Notes = append(report.Notes, fmt.Sprintf("socket of ticket %s ended during the run: %v", t.id, err))
			}
		}
	}
	report.Notes = append(report.Notes, fmt.Sprintf("deliveries missing: %d of %d expected",
		s.missing.Load(), stream.Counts().Sent*int64(o.subscribers)))
	step := loadtest.Step{Rate: o.rate, Streams: results(runs)}
	step.AddRatios(pairAll(streamReply, []string{stepPost, stepDelivered}, streamInsert, stepInsert)...)
	report.Steps = []loadtest.Step{step}
	return ms.finish(cmd, report)
}

// setUp opens the tickets, round robin over the employees, and each
// requester's sockets subscribed to its ticket.
func (s *replyScenario) setUp(ctx context.Context, st *loadState, employees []*session) error {
	s.tickets = make([]*replyTicket, s.o.tickets)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range s.tickets {
		g.Go(func() error {
			emp := employees[i%len(employees)]
			token, err := emp.bearer(gctx)
			if err != nil {
				return err
			}
			var t struct {
				ID string `json:"id"`
			}
			body := map[string]string{
				"title":       fmt.Sprintf("Load reply %d: %s %s", i+1, pickWord(), pickWord()),
				"description": ticketText(12),
				"category_id": st.CategoryID,
				"priority":    "normal",
			}
			if err := s.c.call(gctx, "open ticket", http.MethodPost, "/helpdesk/tickets", token, body, &t, http.StatusCreated); err != nil {
				return err
			}
			rt := &replyTicket{id: t.ID}
			for range s.o.subscribers {
				sock, err := s.dial(gctx, emp, t.ID)
				if err != nil {
					return err
				}
				rt.sockets = append(rt.sockets, sock)
			}
			s.tickets[i] = rt
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		s.closeSockets()
		return fmt.Errorf("set up the reply tickets: %w", err)
	}
	return nil
}

func (s *replyScenario) closeSockets() {
	for _, t := range s.tickets {
		if t == nil {
			continue
		}
		for _, sock := range t.sockets {
			sock.close()
		}
	}
}

// reply posts one public comment as an agent and waits until it reached
// every socket of its ticket, or --wait passed.
func (s *replyScenario) reply(ctx context.Context, stream *loadtest.Stream) error {
	n := s.next.Add(1) - 1
	t := s.tickets[int(n)%len(s.tickets)]
	token, err := s.agents[int(n)%len(s.agents)].bearer(ctx)
	if err != nil {
		return loadtest.Failed("login", err)
	}
	var c struct {
		ID string `json:"id"`
	}
	body := map[string]any{"body": fmt.Sprintf("Reply %d: %s", n, ticketText(8)), "internal": false}
	start := time.Now()
	if err := s.c.call(ctx, stepPost, http.MethodPost, "/messaging/tickets/"+t.id+"/comments", token, body, &c, http.StatusCreated); err != nil {
		return err
	}
	stream.Step(stepPost).Record(time.Since(start))
	d := s.waiting.get(c.ID)
	defer s.waiting.forget(c.ID)
	timer := time.NewTimer(s.o.wait)
	defer timer.Stop()
	var times []time.Time
	select {
	case <-d.all(len(t.sockets)):
		times = d.arrivals()
	case <-timer.C:
		times = d.arrivals()
	case <-ctx.Done():
		times = d.arrivals()
	}
	for _, at := range times {
		stream.Step(stepDelivered).Record(at.Sub(start))
	}
	if missing := len(t.sockets) - len(times); missing > 0 {
		s.missing.Add(int64(missing))
		return loadtest.Failed("delivery: missing", fmt.Errorf("comment %s reached %d of %d sockets within %s", c.ID, len(times), len(t.sockets), s.o.wait))
	}
	return nil
}

// deliveries meets the arrivals of comment.created frames, which may come
// before the POST that made the comment has answered, with the POSTs
// waiting for them, by comment id.
type deliveries struct {
	mu sync.Mutex
	m  map[string]*delivery
}

// delivery is when one comment reached the sockets.
type delivery struct {
	mu       sync.Mutex
	times    []time.Time
	want     int
	complete chan struct{}
	closed   bool
}

func newDeliveries() *deliveries { return &deliveries{m: map[string]*delivery{}} }

// get returns the delivery of comment id, adding it on first use.
func (ds *deliveries) get(id string) *delivery {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	d, ok := ds.m[id]
	if !ok {
		d = &delivery{complete: make(chan struct{})}
		ds.m[id] = d
	}
	return d
}

// forget drops comment id once its POST has stopped waiting.
func (ds *deliveries) forget(id string) {
	ds.mu.Lock()
	delete(ds.m, id)
	ds.mu.Unlock()
}

// arrived records that the comment reached one socket at t.
func (d *delivery) arrived(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.times = append(d.times, t)
	d.check()
}

// all returns a channel closed once want sockets have the comment.
func (d *delivery) all(want int) <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.want = want
	d.check()
	return d.complete
}

func (d *delivery) check() {
	if !d.closed && d.want > 0 && len(d.times) >= d.want {
		d.closed = true
		close(d.complete)
	}
}

func (d *delivery) arrivals() []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Time(nil), d.times...)
}

// replySocket is one requester WebSocket; its reader hands each
// comment.created frame's arrival time to the deliveries.
type replySocket struct {
	ws      *websocket.Conn
	done    chan struct{}
	err     error // why reading ended; set before done is closed
	closing atomic.Bool
}

// dial opens a WebSocket as the user of sess, subscribes it to ticketID and
// waits for the presence frame that confirms the subscription.
func (s *replyScenario) dial(ctx context.Context, sess *session, ticketID string) (*replySocket, error) {
	token, err := sess.bearer(ctx)
	if err != nil {
		return nil, err
	}
	var wt struct {
		Ticket string `json:"ticket"`
	}
	if err := s.c.call(ctx, "ws ticket", http.MethodPost, "/messaging/ws-tickets", token, nil, &wt, http.StatusOK); err != nil {
		return nil, err
	}
	u := "ws" + strings.TrimPrefix(s.c.base, "http") + "/messaging/ws?ticket=" + url.QueryEscape(wt.Ticket)
	dialer := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 1024}
	ws, res, err := dialer.DialContext(ctx, u, nil)
	if err != nil {
		if res != nil {
			return nil, fmt.Errorf("open websocket: %w (HTTP %d)", err, res.StatusCode)
		}
		return nil, fmt.Errorf("open websocket: %w", err)
	}
	if err := ws.WriteJSON(map[string]string{"type": "subscribe", "ticket_id": ticketID}); err != nil {
		ws.Close()
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	// The first presence frame of the ticket confirms the subscription.
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var f struct {
			Type     string `json:"type"`
			TicketID string `json:"ticket_id"`
			Data     json.RawMessage
		}
		if err := ws.ReadJSON(&f); err != nil {
			ws.Close()
			return nil, fmt.Errorf("subscribe to %s: %w", ticketID, err)
		}
		if f.Type == "error" {
			ws.Close()
			return nil, fmt.Errorf("subscribe to %s: %s", ticketID, f.Data)
		}
		if f.Type == "presence" && f.TicketID == ticketID {
			break
		}
	}
	_ = ws.SetReadDeadline(time.Time{})
	sock := &replySocket{ws: ws, done: make(chan struct{})}
	go sock.read(s.waiting)
	return sock, nil
}

// read records the arrival of every comment.created frame until the
// connection ends. Gorilla answers the server's pings while it reads.
func (r *replySocket) read(ds *deliveries) {
	defer close(r.done)
	for {
		_, data, err := r.ws.ReadMessage()
		at := time.Now()
		if err != nil {
			if !r.closing.Load() {
				r.err = err
			}
			return
		}
		var f struct {
			Type string `json:"type"`
			Data struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if json.Unmarshal(data, &f) != nil || f.Type != "comment.created" || f.Data.ID == "" {
			continue
		}
		ds.get(f.Data.ID).arrived(at)
	}
}

// failure returns why the socket stopped reading before it was closed.
func (r *replySocket) failure() error {
	select {
	case <-r.done:
		return r.err
	default:
		return nil
	}
}

func (r *replySocket) close() {
	r.closing.Store(true)
	_ = r.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	_ = r.ws.Close()
	<-r.done
}
