package activities_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/workflow"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/workflows"
)

// BenchmarkWebhookDeliveries measures webhook deliveries per second through
// the whole path on this machine's real services: events published to
// RabbitMQ, the dispatcher (prefetch 1), one WebhookWorkflow per endpoint
// on the Temporal dev server, the signed POST to a local receiver that
// answers 204 at once, and the delivery log in PostgreSQL. Each iteration
// publishes 200 events (over 20 tickets) to the given number of endpoints
// and waits until every delivery is logged as delivered.
//
//	go test -run '^$' -bench WebhookDeliveries -benchtime 3x ./activities/
func BenchmarkWebhookDeliveries(b *testing.B) {
	for _, endpoints := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("endpoints=%d", endpoints), func(b *testing.B) { benchWebhooks(b, endpoints, 200) })
	}
}

func benchWebhooks(b *testing.B, endpoints, perRun int) {
	p := newPipeline(b, workflows.WebhookSettings{FailureWindow: time.Hour, InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second, AttemptTimeout: 5 * time.Second})
	var (
		mu        sync.Mutex
		latencies []time.Duration
		count     int
	)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e events.Event
		if err := json.NewDecoder(r.Body).Decode(&e); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		count++
		latencies = append(latencies, time.Since(e.Time))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	for range endpoints {
		if _, err := p.store.CreateWebhook(b.Context(), workflow.WebhookSpec{URL: rcv.URL, EventTypes: []string{events.TicketUpdated}, Active: true}); err != nil {
			b.Fatal(err)
		}
	}
	tickets := make([]string, 20)
	for i := range tickets {
		tickets[i] = uuid.NewString()
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		for n := range perRun {
			e, err := events.New("/helpdesk", events.TicketUpdated, tickets[n%len(tickets)], map[string]int{"n": n, "run": i})
			if err != nil {
				b.Fatal(err)
			}
			if err := p.pub.Publish(b.Context(), e); err != nil {
				b.Fatal(err)
			}
		}
		want := (i + 1) * perRun * endpoints
		deadline := time.Now().Add(5 * time.Minute)
		for {
			mu.Lock()
			got := count
			mu.Unlock()
			if got >= want {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d deliveries after 5 minutes", got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(latencies)
	b.ReportMetric(float64(count)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(latencies[len(latencies)/2].Milliseconds()), "p50_ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Milliseconds()), "p99_ms")
}
