package testenv_test

import (
	"context"
	"net"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ticketflow/ticketflow/internal/testenv"
)

// TestRabbitMQNode_RestartKeepsDurableQueues stops a private node for real
// (nothing answers on its port, connections are closed) and starts it
// again on the same data: a durable quorum queue and the persistent
// message confirmed into it are back.
func TestRabbitMQNode_RestartKeepsDurableQueues(t *testing.T) {
	began := time.Now()
	node := testenv.StartRabbitMQNode(t, "")
	t.Logf("first start took %s", time.Since(began).Round(time.Millisecond))
	if node.Port() == 5672 {
		t.Fatal("the private node took the shared node's port")
	}

	conn, err := amqp.Dial(node.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	lost := conn.NotifyClose(make(chan *amqp.Error, 1))
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("kept", true, false, false, false, amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum})
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	confirm, err := ch.PublishWithDeferredConfirmWithContext(ctx, "", q.Name, false, false,
		amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte("survivor")})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := confirm.WaitContext(ctx); !ok || err != nil {
		t.Fatalf("publish not confirmed: %v %v", ok, err)
	}

	if err := node.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("the client's connection outlived the broker")
	}
	if c, err := net.DialTimeout("tcp", node.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("something still accepts connections on the stopped node's port")
	}

	began = time.Now()
	if err := node.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("restart took %s", time.Since(began).Round(time.Millisecond))
	conn2, err := amqp.Dial(node.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	ch2, err := conn2.Channel()
	if err != nil {
		t.Fatal(err)
	}
	// The quorum queue's leader is elected again shortly after boot.
	var m amqp.Delivery
	var ok bool
	deadline := time.Now().Add(30 * time.Second)
	for !ok && time.Now().Before(deadline) {
		if m, ok, err = ch2.Get("kept", true); err != nil {
			t.Fatalf("get from the queue after the restart: %v", err)
		}
		if !ok {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !ok || string(m.Body) != "survivor" {
		t.Fatalf("after the restart: got %v %q, want the message kept", ok, m.Body)
	}
}
