package messaging_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ticketflow/ticketflow/internal/authn"
)

// The WebSocket cost curve of issue 10: memory per idle connection and the
// fan-out of a comment to every subscriber of one ticket, at 100, 1,000
// and 5,000 clients. Run:
//
//	go test ./api/messaging/ -run '^$' -bench 'WSCurve' -benchtime 1x
var wsCurveClients = []int{100, 1000, 5000}

// The fan-out step's comments: few and slow, so that at 5,000 subscribers
// (25,000 frames a second at wsCurveRate) it measures the fan-out, not a
// saturated machine.
const (
	wsCurveRate     = 5 // comments per second
	wsCurveComments = 20
)

// BenchmarkWSCurveMemory is BenchmarkIdleConnections at each size of the
// curve: the clients live in the helper process, and the figure is the
// growth of this (server) process's heap + stacks and resident set,
// divided by the connections.
func BenchmarkWSCurveMemory(b *testing.B) {
	raiseFileLimit(b)
	for _, n := range wsCurveClients {
		b.Run(fmt.Sprintf("clients_%d", n), func(b *testing.B) {
			e := newEnv(b)
			users := make([]person, 50)
			for i := range users {
				users[i] = e.user(fmt.Sprintf("User %d", i), authn.RoleEmployee)
			}
			warm, _, err := dial(e.url(), e.wsTicket(e.url(), users[0]), nil)
			if err != nil {
				b.Fatal(err)
			}
			_ = warm.Close()
			tickets := filepath.Join(b.TempDir(), "tickets")
			var list bytes.Buffer
			for i := range n {
				t, err := e.replicas[0].svc.IssueWSTicket(context.Background(), authn.User{ID: users[i%len(users)].id, Role: authn.RoleEmployee})
				if err != nil {
					b.Fatal(err)
				}
				list.WriteString(t.Ticket + "\n")
			}
			if err := os.WriteFile(tickets, list.Bytes(), 0o600); err != nil {
				b.Fatal(err)
			}
			time.Sleep(500 * time.Millisecond)
			heap0, rss0 := memoryInUse(b)
			b.ResetTimer()
			for range b.N {
				release := holdN(b, e.url(), tickets, n)
				time.Sleep(2 * time.Second)
				heap1, rss1 := memoryInUse(b)
				b.ReportMetric(float64(int64(heap1)-int64(heap0))/float64(n), "heap+stack-B/conn")
				b.ReportMetric(float64(int64(rss1)-int64(rss0))/float64(n), "rss-B/conn")
				b.ReportMetric(float64(n), "conns")
				release()
			}
		})
	}
}

// holdN starts the helper process that opens a connection with each
// ticket in the file (n of them), waits until all are open, and returns a
// function that ends the process.
func holdN(b *testing.B, url, tickets string, n int) func() {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldIdleConnections$", "-test.count=1")
	cmd.Env = append(os.Environ(), holdTicketsEnv+"="+tickets, holdURLEnv+"="+url)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "held ") {
			break
		}
	}
	if got, _ := strconv.Atoi(strings.TrimPrefix(lines.Text(), "held ")); got != n {
		b.Fatalf("helper holds %q connections, want %d", lines.Text(), n)
	}
	return func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	}
}

// BenchmarkWSCurveDelivery subscribes n sockets (the requester's and agents'
// sockets, 20 agents with several each) to one ticket, then an agent posts
// wsCurveComments public comments at wsCurveRate per second. Latency is from
// just before each POST to the comment.created frame on each socket; spread
// is, per comment, its last socket's arrival minus its first's. The client
// sockets' readers run in this process too.
func BenchmarkWSCurveDelivery(b *testing.B) {
	raiseFileLimit(b)
	for _, n := range wsCurveClients {
		b.Run(fmt.Sprintf("clients_%d", n), func(b *testing.B) {
			e := newEnv(b)
			productionPool(b, e)
			requester := e.user("Requester", authn.RoleEmployee)
			tk := e.ticket(requester)
			poster := e.user("Poster", authn.RoleAgent)
			viewers := []person{requester}
			for i := range 20 {
				viewers = append(viewers, e.user(fmt.Sprintf("Agent %d", i), authn.RoleAgent))
			}

			sent := make([]atomic.Int64, wsCurveComments)
			answered := make([]atomic.Int64, wsCurveComments)
			var (
				mu        sync.Mutex
				latencies []time.Duration
				first     = make([]time.Time, wsCurveComments)
				last      = make([]time.Time, wsCurveComments)
			)
			var readers sync.WaitGroup
			var sockets []*websocket.Conn
			b.Cleanup(func() {
				for _, ws := range sockets {
					_ = ws.Close()
				}
				readers.Wait()
			})
			subscribeStart := time.Now()
			for i := range n {
				ws := benchSubscriber(b, e, viewers[i%len(viewers)], tk.ID)
				sockets = append(sockets, ws)
				readers.Go(func() {
					for {
						_, data, err := ws.ReadMessage()
						if err != nil {
							return
						}
						at := time.Now()
						if i, ok := commentIndex(data); ok && i < wsCurveComments {
							mu.Lock()
							latencies = append(latencies, at.Sub(time.Unix(0, sent[i].Load())))
							if first[i].IsZero() || at.Before(first[i]) {
								first[i] = at
							}
							if at.After(last[i]) {
								last[i] = at
							}
							mu.Unlock()
						}
					}
				})
			}
			subscribing := time.Since(subscribeStart)
			time.Sleep(time.Second) // let the presence frames of the last subscriptions settle

			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			url := e.url() + "/messaging/tickets/" + tk.ID + "/comments"
			b.ResetTimer()
			for range b.N {
				latencies = latencies[:0]
				tick := time.NewTicker(time.Second / wsCurveRate)
				var posts sync.WaitGroup
				for i := range wsCurveComments {
					<-tick.C
					posts.Go(func() {
						req, _ := http.NewRequest("POST", url, strings.NewReader(fmt.Sprintf(`{"body":"c%d"}`, i)))
						req.Header.Set("Content-Type", "application/json")
						req.Header.Set("Authorization", "Bearer "+poster.token)
						sent[i].Store(time.Now().UnixNano())
						res, err := client.Do(req)
						answered[i].Store(time.Now().UnixNano() - sent[i].Load())
						if err != nil {
							b.Error(err)
							return
						}
						_ = res.Body.Close()
						if res.StatusCode != http.StatusCreated {
							b.Errorf("POST comment: %d", res.StatusCode)
						}
					})
				}
				tick.Stop()
				posts.Wait()
				want := wsCurveComments * n
				deadline := time.Now().Add(10 * time.Second)
				for time.Now().Before(deadline) {
					mu.Lock()
					got := len(latencies)
					mu.Unlock()
					if got >= want {
						break
					}
					time.Sleep(10 * time.Millisecond)
				}
				mu.Lock()
				got := slices.Clone(latencies)
				spread := make([]time.Duration, wsCurveComments)
				for i := range spread {
					spread[i] = last[i].Sub(first[i])
				}
				mu.Unlock()
				posts2 := make([]time.Duration, wsCurveComments)
				for i := range answered {
					posts2[i] = time.Duration(answered[i].Load())
				}
				b.ReportMetric(float64(len(got))/float64(want), "delivered")
				b.ReportMetric(subscribing.Seconds(), "subscribe-s") // after ResetTimer, which drops metrics
				reportPercentiles(b, "", got, 0.50, 0.99, 1)
				reportPercentiles(b, "post-", posts2, 0.50, 0.99)
				reportPercentiles(b, "spread-", spread, 0.50, 0.99)
			}
		})
	}
}
