package workflow_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/workflow"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

// directoryEntry reads a user's row of the directory.
func (e *adminEnv) directoryEntry(id string) (name, role string, active bool) {
	e.t.Helper()
	err := e.pool.QueryRow(context.Background(), `SELECT name, role, active FROM agents WHERE user_id = $1`, id).Scan(&name, &role, &active)
	if err != nil {
		e.t.Fatalf("directory entry %s: %v", id, err)
	}
	return name, role, active
}

func TestAgentDirectory_AppliesEachEventOnceAndNeverGoesBack(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	id := uuid.NewString()
	t0 := time.Now().Add(-time.Hour)

	created := userEvent(t, events.UserCreated, id, "Nina", authn.RoleEmployee, true, t0)
	e.deliver(created)
	if name, role, active := e.directoryEntry(id); name != "Nina" || role != "employee" || !active {
		t.Fatalf("after user.created: %s %s %v", name, role, active)
	}

	promoted := userEvent(t, events.UserUpdated, id, "Nina", authn.RoleAgent, true, t0.Add(2*time.Minute))
	e.deliver(promoted)
	if _, role, _ := e.directoryEntry(id); role != "agent" {
		t.Fatalf("after promotion role = %s, want agent", role)
	}

	// An older event arriving late changes nothing, nor does a redelivery.
	stale := userEvent(t, events.UserUpdated, id, "Nina Old", authn.RoleEmployee, false, t0.Add(time.Minute))
	e.deliver(stale, created, promoted)
	if name, role, active := e.directoryEntry(id); name != "Nina" || role != "agent" || !active {
		t.Fatalf("after stale event and redeliveries: %s %s %v", name, role, active)
	}
	if n := e.count(`SELECT count(*) FROM inbox WHERE consumer = $1`, workflow.DirectoryConsumer); n != 3 {
		t.Fatalf("claimed events = %d, want 3", n)
	}
	if ok, _ := e.store.IsAssignable(context.Background(), id); !ok {
		t.Fatal("promoted agent is not assignable")
	}

	// A redelivered deactivation is applied once; the user stops being assignable.
	gone := userEvent(t, events.UserUpdated, id, "Nina", authn.RoleAgent, false, t0.Add(3*time.Minute))
	e.deliver(gone, gone)
	if ok, _ := e.store.IsAssignable(context.Background(), id); ok {
		t.Fatal("deactivated agent is still assignable")
	}
}

func TestAgentDirectory_IgnoresOtherEventsAndDeadLettersBadOnes(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	ctx := context.Background()
	other, err := events.New("/helpdesk", events.TicketCreated, "", map[string]string{"id": uuid.NewString()})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.directory(ctx, other); err != nil {
		t.Fatalf("ticket.created: %v, want ignored", err)
	}
	bad := []events.Event{
		userEvent(t, events.UserCreated, "not-a-uuid", "Bad", authn.RoleAgent, true, time.Now()),
		func() events.Event {
			ev := userEvent(t, events.UserCreated, uuid.NewString(), "Bad", authn.RoleAgent, true, time.Now())
			ev.Data = []byte(`["not", "an", "object"]`)
			return ev
		}(),
		func() events.Event {
			ev := userEvent(t, events.UserCreated, uuid.NewString(), "Bad", authn.RoleAgent, true, time.Now())
			ev.ID = "not-a-uuid"
			return ev
		}(),
	}
	for i, ev := range bad {
		if err := e.directory(ctx, ev); !rabbitmq.IsPermanent(err) {
			t.Errorf("bad event %d: %v, want a permanent failure", i, err)
		}
	}
	if n := e.count(`SELECT count(*) FROM agents`); n != 0 {
		t.Fatalf("directory entries = %d, want 0", n)
	}
}

func TestAgentDirectory_FollowsUserEventsFromRabbitMQ(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	amqpURL := testenv.VHost(t)
	log := testenv.Logger(t)
	consumer := rabbitmq.NewConsumer(amqpURL, rabbitmq.ConsumerConfig{
		Queue:    testenv.Name("workflow_users"),
		Bindings: []string{events.UserCreated, events.UserUpdated},
	}, workflow.NewAgentDirectory(e.store, log), log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- consumer.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consumer: %v", err)
		}
	})
	pub := rabbitmq.NewPublisher(amqpURL, "", log)
	t.Cleanup(func() { _ = pub.Close() })

	id := uuid.NewString()
	ev := userEvent(t, events.UserCreated, id, "Rabbit", authn.RoleAgent, true, time.Now())
	deadline := time.Now().Add(15 * time.Second)
	// The queue exists once the consumer has declared it; until then a
	// published event is dropped, so publish again until it arrives (the
	// directory applies it once however often it comes).
	for {
		if err := pub.Publish(ctx, ev); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		if ok, err := e.store.IsAssignable(ctx, id); err != nil {
			t.Fatal(err)
		} else if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the directory did not get user.created from RabbitMQ")
		}
	}
	if n := e.count(`SELECT count(*) FROM inbox WHERE consumer = $1`, workflow.DirectoryConsumer); n != 1 {
		t.Fatalf("claimed events = %d, want 1", n)
	}
}

func TestListAgents_OnlyAssignableUsers(t *testing.T) {
	t.Parallel()
	e := newAdminEnv(t)
	admin, agent, employee := e.staff() // Ada Admin, Alan Agent, Emma Employee
	inactive := e.user("Zed Inactive", authn.RoleAgent)
	e.changeUser(inactive, "Zed Inactive", authn.RoleAgent, false)
	var list httpx.List[workflow.Agent]
	e.do("GET", "/workflow/agents", agent, nil).want(t, http.StatusOK, &list)
	if len(list.Items) != 2 || list.Items[0].Name != "Ada Admin" || list.Items[1].Name != "Alan Agent" ||
		list.Items[0].Role != "admin" || list.Items[1].Email != "alan.agent@example.com" {
		t.Fatalf("agents = %+v", list.Items)
	}
	e.do("GET", "/workflow/agents", admin, nil).want(t, http.StatusOK, nil)
	e.do("GET", "/workflow/agents", employee, nil).problem(t, http.StatusForbidden, "")
}
