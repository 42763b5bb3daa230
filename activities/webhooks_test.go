package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/ticketflow/ticketflow/activities"
	"github.com/ticketflow/ticketflow/api/workflow"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/internal/temporalx"
	"github.com/ticketflow/ticketflow/internal/testenv"
	"github.com/ticketflow/ticketflow/workers"
	"github.com/ticketflow/ticketflow/workflows"
)

// received is one request a test receiver got.
type received struct {
	event     events.Event
	signature string
	ctype     string
	body      []byte
	code      int // what the receiver answered
}

// hookReceiver is an httptest receiver; status decides each answer.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	status func(n int) int // n counts requests from 1
	reply  string
	delay  time.Duration
}

func newHookReceiver(t *testing.T, status func(n int) int) *hookReceiver {
	r := &hookReceiver{status: status, reply: `{"ok":true}`}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var e events.Event
		_ = json.Unmarshal(body, &e)
		r.mu.Lock()
		n := len(r.got) + 1
		code := r.status(n)
		r.got = append(r.got, received{event: e, signature: req.Header.Get(activities.WebhookSignatureHeader), ctype: req.Header.Get("Content-Type"), body: body, code: code})
		r.mu.Unlock()
		time.Sleep(r.delay)
		w.WriteHeader(code)
		_, _ = io.WriteString(w, r.reply)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *hookReceiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func always(code int) func(int) int { return func(int) int { return code } }

// newWebhookStore is the workflow store on a fresh schema.
func newWebhookStore(t testing.TB) *workflow.Store {
	t.Helper()
	pool, _ := testenv.Schema(t, "webhooks")
	if err := workflow.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return workflow.NewStore(pool)
}

func ticketEvent(t *testing.T, typ, ticketID string, n int) events.Event {
	t.Helper()
	e, err := events.New("/helpdesk", typ, ticketID, map[string]any{"id": ticketID, "n": n})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// enqueue registers e's delivery to the endpoint, as the dispatcher does.
func enqueue(t *testing.T, store *workflow.Store, endpointID string, e events.Event) string {
	t.Helper()
	raw, _ := json.Marshal(e)
	id, pending, err := store.EnqueueWebhookDelivery(context.Background(), endpointID, e, raw)
	if err != nil || !pending {
		t.Fatalf("enqueue: %v (pending %v)", err, pending)
	}
	return id
}

func deliveryLog(t *testing.T, store *workflow.Store, endpointID string) []workflow.WebhookDelivery {
	t.Helper()
	list, err := store.WebhookDeliveries(context.Background(), endpointID, 100)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

const testSecret = "a-test-secret-of-sixteen+"

func TestDeliverWebhook_PostsTheSignedEnvelopeAndLogsTheAnswer(t *testing.T) {
	t.Parallel()
	store := newWebhookStore(t)
	rcv := newHookReceiver(t, always(200))
	rcv.reply = strings.Repeat("x", 5000) // more than the log keeps
	wh, err := store.CreateWebhook(t.Context(), workflow.WebhookSpec{URL: rcv.URL + "/hook", EventTypes: []string{events.TicketCreated}, Secret: testSecret, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	e := ticketEvent(t, events.TicketCreated, uuid.NewString(), 1)
	id := enqueue(t, store, wh.ID, e)
	acts := activities.NewWebhookActivities(store, workflow.URLGuard{AllowPrivate: true})

	res, err := acts.DeliverWebhook(t.Context(), workflows.DeliverWebhookInput{EndpointID: wh.ID, DeliveryID: id, Timeout: 5 * time.Second})
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("deliver: %+v, %v", res, err)
	}
	got := rcv.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	r := got[0]
	if !strings.HasPrefix(r.ctype, "application/cloudevents+json") {
		t.Errorf("Content-Type %q", r.ctype)
	}
	if r.event.ID != e.ID || r.event.Type != e.Type || r.event.SpecVersion != "1.0" || r.event.Subject != e.Subject {
		t.Errorf("envelope %+v, want the event %+v", r.event, e)
	}
	if err := activities.VerifyWebhookSignature(testSecret, r.signature, r.body, time.Now(), 5*time.Minute); err != nil {
		t.Errorf("signature %q does not verify: %v", r.signature, err)
	}
	if err := activities.VerifyWebhookSignature("another-secret-entirely", r.signature, r.body, time.Now(), 5*time.Minute); err == nil {
		t.Error("signature verifies with the wrong secret")
	}
	if err := activities.VerifyWebhookSignature(testSecret, r.signature, append(r.body, ' '), time.Now(), 5*time.Minute); err == nil {
		t.Error("signature verifies over a changed body")
	}
	if err := activities.VerifyWebhookSignature(testSecret, r.signature, r.body, time.Now().Add(10*time.Minute), 5*time.Minute); err == nil {
		t.Error("a stale signature verifies")
	}

	log := deliveryLog(t, store, wh.ID)
	if len(log) != 1 || log[0].Status != "delivered" || log[0].Attempts != 1 || log[0].LastStatusCode == nil || *log[0].LastStatusCode != 200 ||
		log[0].LastResponse == nil || len(*log[0].LastResponse) != workflow.MaxWebhookResponse || log[0].DeliveredAt == nil || log[0].LastDurationMS == nil {
		t.Fatalf("log %+v", log)
	}

	// Delivered once: a retried activity does not POST again.
	res, err = acts.DeliverWebhook(t.Context(), workflows.DeliverWebhookInput{EndpointID: wh.ID, DeliveryID: id})
	if err != nil || !res.Skipped || len(rcv.requests()) != 1 {
		t.Fatalf("second call: %+v %v, %d requests", res, err, len(rcv.requests()))
	}
}

func TestDeliverWebhook_FailuresAreRetryableAndLogged(t *testing.T) {
	t.Parallel()
	store := newWebhookStore(t)
	rcv := newHookReceiver(t, always(503))
	rcv.reply = "down for maintenance"
	wh, err := store.CreateWebhook(t.Context(), workflow.WebhookSpec{URL: rcv.URL, EventTypes: []string{events.TicketCreated}, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	id := enqueue(t, store, wh.ID, ticketEvent(t, events.TicketCreated, uuid.NewString(), 1))
	acts := activities.NewWebhookActivities(store, workflow.URLGuard{AllowPrivate: true})

	_, err = acts.DeliverWebhook(t.Context(), workflows.DeliverWebhookInput{EndpointID: wh.ID, DeliveryID: id})
	var appErr *temporal.ApplicationError
	if err == nil || !errors.As(err, &appErr) || appErr.NonRetryable() || appErr.Type() != activities.ErrWebhookFailed {
		t.Fatalf("err = %v, want a retryable WebhookFailed", err)
	}
	log := deliveryLog(t, store, wh.ID)
	if len(log) != 1 || log[0].Status != "pending" || *log[0].LastStatusCode != 503 || *log[0].LastResponse != "down for maintenance" ||
		!strings.Contains(*log[0].LastError, "503") {
		t.Fatalf("log %+v", log[0])
	}

	// A receiver that does not answer in time.
	slow := newHookReceiver(t, always(200))
	slow.delay = 2 * time.Second
	wh2, _ := store.CreateWebhook(t.Context(), workflow.WebhookSpec{URL: slow.URL, EventTypes: []string{events.TicketCreated}, Active: true})
	id2 := enqueue(t, store, wh2.ID, ticketEvent(t, events.TicketCreated, uuid.NewString(), 1))
	start := time.Now()
	if _, err := acts.DeliverWebhook(t.Context(), workflows.DeliverWebhookInput{EndpointID: wh2.ID, DeliveryID: id2, Timeout: 300 * time.Millisecond}); err == nil {
		t.Fatal("a receiver slower than the timeout counted as delivered")
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Fatalf("attempt took %s with a 300ms timeout", d)
	}
	if l := deliveryLog(t, store, wh2.ID); l[0].LastStatusCode != nil || !strings.Contains(*l[0].LastError, "no answer within") {
		t.Fatalf("log %+v", l[0])
	}

	// Turned off: fails for good.
	off := false
	if _, err := store.UpdateWebhook(t.Context(), wh.ID, workflow.WebhookPatch{Active: &off}); err != nil {
		t.Fatal(err)
	}
	_, err = acts.DeliverWebhook(t.Context(), workflows.DeliverWebhookInput{EndpointID: wh.ID, DeliveryID: id})
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != workflows.ErrWebhookInactive {
		t.Fatalf("err = %v, want non-retryable %s", err, workflows.ErrWebhookInactive)
	}
	if l := deliveryLog(t, store, wh.ID); l[0].Status != "dropped" {
		t.Fatalf("status %s after turning the endpoint off, want dropped", l[0].Status)
	}
	// On again: the dropped delivery is skipped, not sent, so the queue
	// goes on with what comes next.
	on := true
	if _, err := store.UpdateWebhook(t.Context(), wh.ID, workflow.WebhookPatch{Active: &on}); err != nil {
		t.Fatal(err)
	}
	before := len(rcv.requests())
	res, err := acts.DeliverWebhook(t.Context(), workflows.DeliverWebhookInput{EndpointID: wh.ID, DeliveryID: id})
	if err != nil || !res.Skipped || len(rcv.requests()) != before {
		t.Fatalf("dropped delivery after turning the endpoint on: %+v, %v, %d new requests", res, err, len(rcv.requests())-before)
	}
}

func TestDeliverWebhook_ProductionGuardRefusesToConnectInside(t *testing.T) {
	t.Parallel()
	store := newWebhookStore(t)
	rcv := newHookReceiver(t, always(200))
	// Stored as if it had passed registration (a name that later resolved
	// to loopback): the dialer still refuses it.
	wh, err := store.CreateWebhook(t.Context(), workflow.WebhookSpec{URL: strings.Replace(rcv.URL, "127.0.0.1", "localhost", 1), EventTypes: []string{events.TicketCreated}, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	id := enqueue(t, store, wh.ID, ticketEvent(t, events.TicketCreated, uuid.NewString(), 1))
	acts := activities.NewWebhookActivities(store, workflow.URLGuard{})
	if _, err := acts.DeliverWebhook(t.Context(), workflows.DeliverWebhookInput{EndpointID: wh.ID, DeliveryID: id}); err == nil {
		t.Fatal("delivered to loopback with the production guard")
	}
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("receiver got %d requests", n)
	}
	if l := deliveryLog(t, store, wh.ID); !strings.Contains(*l[0].LastError, "refused to connect") {
		t.Fatalf("log error %q", *l[0].LastError)
	}
}

// pipeline is the whole webhook path on real services: a RabbitMQ vhost
// with the dispatcher consuming, a Temporal worker on a task queue of its
// own running WebhookWorkflow and its activities, and the store.
type pipeline struct {
	store *workflow.Store
	pub   *rabbitmq.Publisher
	// restartWorker stops the Temporal worker and starts a new one on the
	// same task queue, as a redeployed `ticketflow worker` would.
	restartWorker func()
}

func newPipeline(t testing.TB, settings workflows.WebhookSettings) *pipeline {
	t.Helper()
	store := newWebhookStore(t)
	log := testenv.Logger(t)
	amqpURL := testenv.VHost(t)
	exchange := testenv.Name("events")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	tc, err := temporalx.Dial(ctx, testenv.TemporalAddress(), "default", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	queue := testenv.Name("webhooks")
	var w worker.Worker
	start := func() {
		w = worker.New(tc, queue, worker.Options{})
		workers.RegisterWebhooks(w, activities.NewWebhookActivities(store, workflow.URLGuard{AllowPrivate: true}))
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
	}
	start()
	t.Cleanup(func() { w.Stop() })
	cfg := rabbitmq.ConsumerConfig{Exchange: exchange, Queue: testenv.Name("webhooks"), Bindings: workflow.WebhookEventTypes(), Prefetch: 1, RetryDelay: 100 * time.Millisecond}
	consumer := rabbitmq.NewConsumer(amqpURL, cfg, workflow.NewWebhookDispatcher(store, tc, queue, settings, log).Handle, log)
	done := make(chan struct{})
	go func() { _ = consumer.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	pub := rabbitmq.NewPublisher(amqpURL, exchange, log, rabbitmq.WithQueues(cfg))
	t.Cleanup(func() { _ = pub.Close() })
	return &pipeline{store: store, pub: pub, restartWorker: func() { w.Stop(); start() }}
}

func (p *pipeline) publish(t *testing.T, es ...events.Event) {
	t.Helper()
	for _, e := range es {
		if err := p.pub.Publish(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWebhookPipeline_ReceiverDownForAWhileGetsEveryEventInOrderPerTicket(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, workflows.WebhookSettings{FailureWindow: time.Minute, InitialInterval: 100 * time.Millisecond, MaxInterval: 500 * time.Millisecond, AttemptTimeout: 2 * time.Second})
	downUntil := time.Now().Add(3 * time.Second)
	rcv := newHookReceiver(t, func(int) int {
		if time.Now().Before(downUntil) {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	wh, err := p.store.CreateWebhook(t.Context(), workflow.WebhookSpec{URL: rcv.URL, Secret: testSecret, Active: true,
		EventTypes: []string{events.TicketCreated, events.TicketUpdated, events.CommentCreated}})
	if err != nil {
		t.Fatal(err)
	}
	// An endpoint that wants other events gets none of these.
	other := newHookReceiver(t, always(200))
	if _, err := p.store.CreateWebhook(t.Context(), workflow.WebhookSpec{URL: other.URL, EventTypes: []string{events.SLABreached}, Active: true}); err != nil {
		t.Fatal(err)
	}

	t1, t2 := uuid.NewString(), uuid.NewString()
	var sent []events.Event
	types := []string{events.TicketCreated, events.TicketUpdated, events.CommentCreated, events.TicketUpdated}
	for i, typ := range types {
		sent = append(sent, ticketEvent(t, typ, t1, i), ticketEvent(t, typ, t2, i))
	}
	sent = append(sent, ticketEvent(t, events.TicketAssigned, t1, 9)) // not subscribed
	p.publish(t, sent...)
	p.publish(t, sent[0]) // a duplicate from the bus: delivered once

	want := len(types) * 2
	waitFor(t, 60*time.Second, "every event delivered", func() bool {
		return len(deliveryLogDelivered(t, p.store, wh.ID)) == want
	})
	for _, r := range rcv.requests() {
		if err := activities.VerifyWebhookSignature(testSecret, r.signature, r.body, time.Now(), 5*time.Minute); err != nil {
			t.Fatalf("bad signature on %s: %v", r.event.ID, err)
		}
		if r.event.Type == events.TicketAssigned {
			t.Fatalf("delivered an event type the endpoint did not ask for")
		}
	}
	seen := map[string]int{}
	order := map[string][]int{}
	for _, r := range deliveryOrder(t, p.store, wh.ID) {
		seen[r.EventID]++
		var data struct{ N int }
		for _, s := range sent {
			if s.ID == r.EventID {
				_ = json.Unmarshal(s.Data, &data)
				order[s.Subject] = append(order[s.Subject], data.N)
			}
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("event %s delivered %d times", id, n)
		}
	}
	for _, tk := range []string{t1, t2} {
		if got := order[tk]; len(got) != len(types) || !sortedInts(got) {
			t.Fatalf("ticket %s's events were delivered in the order %v, want 0..%d", tk, got, len(types)-1)
		}
	}
	// The receiver's own view: every accepted request, per ticket in order.
	perTicket := map[string][]int{}
	accepted := map[string]int{}
	for _, r := range rcv.requests() {
		if r.code != http.StatusOK {
			continue
		}
		accepted[r.event.ID]++
		var data struct{ N int }
		_ = json.Unmarshal(r.event.Data, &data)
		perTicket[r.event.Subject] = append(perTicket[r.event.Subject], data.N)
	}
	for _, tk := range []string{t1, t2} {
		if got := perTicket[tk]; len(got) != len(types) || !sortedInts(got) {
			t.Fatalf("receiver accepted ticket %s's events in the order %v, want 0..%d", tk, got, len(types)-1)
		}
	}
	for id, n := range accepted {
		if n != 1 {
			t.Fatalf("receiver accepted event %s %d times", id, n)
		}
	}
	log := deliveryLog(t, p.store, wh.ID)
	first := log[len(log)-1]
	if first.Attempts < 2 {
		t.Fatalf("first delivery made %d attempts while the receiver was down, want retries", first.Attempts)
	}
	if n := len(other.requests()); n != 0 {
		t.Fatalf("the other endpoint got %d requests", n)
	}
}

func sortedInts(s []int) bool {
	for i := 1; i < len(s); i++ {
		if s[i] < s[i-1] {
			return false
		}
	}
	return true
}

func deliveryLogDelivered(t *testing.T, store *workflow.Store, endpointID string) []workflow.WebhookDelivery {
	var out []workflow.WebhookDelivery
	for _, d := range deliveryLog(t, store, endpointID) {
		if d.Status == "delivered" {
			out = append(out, d)
		}
	}
	return out
}

// deliveryOrder returns the delivered deliveries in the order they were
// delivered.
func deliveryOrder(t *testing.T, store *workflow.Store, endpointID string) []workflow.WebhookDelivery {
	list := deliveryLogDelivered(t, store, endpointID)
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && list[j].DeliveredAt.Before(*list[j-1].DeliveredAt); j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
	return list
}

func TestWebhookPipeline_ReceiverFailingForTheWindowDisablesTheEndpoint(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, workflows.WebhookSettings{FailureWindow: 3 * time.Second, InitialInterval: 100 * time.Millisecond, MaxInterval: 400 * time.Millisecond, AttemptTimeout: time.Second})
	rcv := newHookReceiver(t, always(500))
	wh, err := p.store.CreateWebhook(t.Context(), workflow.WebhookSpec{URL: rcv.URL, EventTypes: []string{events.TicketCreated}, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	tk := uuid.NewString()
	p.publish(t, ticketEvent(t, events.TicketCreated, tk, 0), ticketEvent(t, events.TicketCreated, tk, 1))

	waitFor(t, 60*time.Second, "the endpoint disabled", func() bool {
		w, err := p.store.Webhook(t.Context(), wh.ID)
		return err == nil && !w.Active
	})
	w, _ := p.store.Webhook(t.Context(), wh.ID)
	if w.DisabledAt == nil || !strings.Contains(w.DisabledReason, "kept failing") || !strings.Contains(w.DisabledReason, "500") {
		t.Fatalf("disabled webhook %+v: want when and why", w)
	}
	for _, d := range deliveryLog(t, p.store, wh.ID) {
		if d.Status != "failed" {
			t.Fatalf("delivery %s is %s after the endpoint was disabled, want failed", d.ID, d.Status)
		}
	}
	var n int
	if err := p.store.Pool().QueryRow(t.Context(), `SELECT count(*) FROM outbox WHERE type = $1 AND payload->>'subject' = $2`, events.WebhookDisabled, wh.ID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d webhook.disabled events in the outbox (%v), want 1", n, err)
	}
	// Events for a disabled endpoint go nowhere.
	before := len(rcv.requests())
	p.publish(t, ticketEvent(t, events.TicketCreated, tk, 2))
	time.Sleep(time.Second)
	if after := len(rcv.requests()); after != before {
		t.Fatalf("a disabled endpoint got %d more requests", after-before)
	}
}

func TestWebhookPipeline_DeliveriesSurviveAWorkerRestart(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, workflows.WebhookSettings{FailureWindow: time.Minute, InitialInterval: 200 * time.Millisecond, MaxInterval: 500 * time.Millisecond, AttemptTimeout: 2 * time.Second})
	var up atomic.Bool
	rcv := newHookReceiver(t, func(int) int {
		if up.Load() {
			return http.StatusOK
		}
		return http.StatusBadGateway
	})
	wh, err := p.store.CreateWebhook(t.Context(), workflow.WebhookSpec{URL: rcv.URL, EventTypes: []string{events.CommentCreated}, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	tk := uuid.NewString()
	var sent []events.Event
	for i := range 5 {
		sent = append(sent, ticketEvent(t, events.CommentCreated, tk, i))
	}
	p.publish(t, sent...)
	waitFor(t, 30*time.Second, "failed attempts while the receiver is down", func() bool { return len(rcv.requests()) >= 2 })

	// The worker goes away mid-retry; a new one takes over the runs.
	p.restartWorker()
	up.Store(true)
	waitFor(t, 60*time.Second, "every event delivered after the restart", func() bool {
		return len(deliveryLogDelivered(t, p.store, wh.ID)) == len(sent)
	})
	var got []string
	for _, r := range rcv.requests() {
		if r.code == http.StatusOK {
			got = append(got, r.event.ID)
		}
	}
	var want []string
	for _, e := range sent {
		want = append(want, e.ID)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("receiver accepted %v, want each event once in order %v", got, want)
	}
}
