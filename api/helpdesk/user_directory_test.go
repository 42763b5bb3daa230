package helpdesk_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

// directoryRow is a user as the helpdesk's directory holds it.
type directoryRow struct {
	name   string
	role   string
	active bool
}

// directory returns the user's row, and whether there is one.
func (e *env) directory(id string) (directoryRow, bool) {
	e.t.Helper()
	var r directoryRow
	err := e.pool.QueryRow(context.Background(), `SELECT name, role, active FROM users WHERE id = $1`, id).Scan(&r.name, &r.role, &r.active)
	if err != nil {
		return directoryRow{}, false
	}
	return r, true
}

// eventually polls cond every 20ms until it holds, or fails after wait.
func eventually(t *testing.T, wait time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", wait, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func testUserDirectoryFollowsEvents(t *testing.T, b broker) {
	e := newEnv(t)
	log := testenv.Logger(t)
	consumer := rabbitmq.NewConsumer(b.url, rabbitmq.ConsumerConfig{
		Exchange: b.exchange,
		Queue:    helpdesk.UsersQueue,
		Bindings: helpdesk.UserEventTypes(),
		// One at a time, so the test knows what was handled before what.
		Prefetch:   1,
		RetryDelay: 50 * time.Millisecond,
	}, helpdesk.NewUserDirectoryHandler(e.pool, log), log)
	testenv.RunLoop(t, consumer.Run)
	testenv.WaitForConsumer(t, b.url, helpdesk.UsersQueue)
	pub := rabbitmq.NewPublisher(b.url, b.exchange, log)
	t.Cleanup(func() { _ = pub.Close() })
	send := func(ev events.Event) {
		t.Helper()
		if err := pub.Publish(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}

	ana, bob := uuid.NewString(), uuid.NewString()
	t0 := time.Now().Add(-time.Minute)
	created := userEvent(t, events.UserCreated, ana, "Ana", authn.RoleEmployee, true, t0)
	send(created)
	eventually(t, 10*time.Second, "ana in the directory", func() bool { _, ok := e.directory(ana); return ok })

	send(userEvent(t, events.UserUpdated, ana, "Ana Lima", authn.RoleAgent, true, t0.Add(2*time.Second)))
	eventually(t, 10*time.Second, "ana promoted", func() bool { r, _ := e.directory(ana); return r.role == "agent" })

	// A redelivery of the first event, and an older event arriving late,
	// change nothing; bob's event, sent after them, tells they were handled.
	send(created)
	send(userEvent(t, events.UserUpdated, ana, "Ana Old", authn.RoleEmployee, false, t0.Add(time.Second)))
	send(userEvent(t, events.UserCreated, bob, "Bob", authn.RoleEmployee, true, t0))
	eventually(t, 10*time.Second, "bob in the directory", func() bool { _, ok := e.directory(bob); return ok })

	if r, _ := e.directory(ana); r != (directoryRow{name: "Ana Lima", role: "agent", active: true}) {
		t.Fatalf("ana = %+v, want the newest data", r)
	}
	if n := e.count(`SELECT count(*) FROM inbox WHERE consumer = $1`, helpdesk.UsersQueue); n != 4 {
		t.Fatalf("inbox claims = %d, want 4 (one per distinct event)", n)
	}
	// Tickets show the directory's names.
	p := person{id: ana, token: e.keys.Token(t, ana, authn.RoleAgent)}
	if tk := e.ticket(p, e.category("Hardware"), "Desk"); tk.RequesterName != "Ana Lima" {
		t.Fatalf("requester_name = %q", tk.RequesterName)
	}
}

func TestUserDirectory_RejectsMalformedEventsForGood(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	handle := helpdesk.NewUserDirectoryHandler(e.pool, testenv.Logger(t))
	id := uuid.NewString()
	noTime := userEvent(t, events.UserCreated, id, "Ana", authn.RoleEmployee, true, time.Now())
	noTime.Time = time.Time{}
	badID := userEvent(t, events.UserCreated, id, "Ana", authn.RoleEmployee, true, time.Now())
	badID.ID = "not-a-uuid"
	for name, ev := range map[string]events.Event{
		"service role": userEvent(t, events.UserCreated, id, "Ana", authn.RoleService, true, time.Now()),
		"unknown role": userEvent(t, events.UserCreated, id, "Ana", "root", true, time.Now()),
		"user id":      userEvent(t, events.UserCreated, "ana", "Ana", authn.RoleEmployee, true, time.Now()),
		"NUL in name":  userEvent(t, events.UserUpdated, id, "A\x00na", authn.RoleEmployee, true, time.Now()),
		"no time":      noTime,
		"event id":     badID,
	} {
		if err := handle(context.Background(), ev); !rabbitmq.IsPermanent(err) {
			t.Errorf("%s: err = %v, want a permanent failure", name, err)
		}
	}
	ev, err := events.New("/auth", events.UserCreated, id, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	if err := handle(context.Background(), ev); !rabbitmq.IsPermanent(err) {
		t.Errorf("data of the wrong shape: err = %v, want a permanent failure", err)
	}
	// An event type the queue is not bound to is acknowledged and ignored.
	other, _ := events.New("/helpdesk", events.TicketCreated, id, map[string]string{"id": id})
	if err := handle(context.Background(), other); err != nil {
		t.Errorf("foreign event: %v", err)
	}
	if n := e.count(`SELECT count(*) FROM users`) + e.count(`SELECT count(*) FROM inbox`); n != 0 {
		t.Fatalf("rows written by malformed events: %d", n)
	}
}
