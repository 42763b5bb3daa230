package messaging_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ticketflow/ticketflow/api/messaging"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/outbox"
	"github.com/ticketflow/ticketflow/internal/postgres"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

// The benchmarks of issue 5; see BENCHMARKS.md for the figures. Run:
//
//	go test ./api/messaging/ -run '^$' -bench 'IdleConnections|FanOut' -benchtime 1x
const (
	idleConnections = 5000
	fanOutViewers   = 100
	fanOutRate      = 200 // comments per second
	fanOutComments  = 2000
)

// Environment of the helper process that holds the idle connections.
const (
	holdTicketsEnv = "MESSAGING_BENCH_HOLD_TICKETS"
	holdURLEnv     = "MESSAGING_BENCH_HOLD_URL"
)

// raiseFileLimit lets the process hold thousands of sockets.
func raiseFileLimit(b *testing.B) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			b.Fatal(err)
		}
	}
	if lim.Cur < 2*idleConnections {
		b.Skipf("RLIMIT_NOFILE is %d, below the %d this needs", lim.Cur, 2*idleConnections)
	}
}

// memoryInUse is what this process holds now, after collecting garbage:
// the live heap spans and goroutine stacks, and the resident set size.
func memoryInUse(b *testing.B) (heapAndStacks, rss uint64) {
	for range 3 {
		runtime.GC()
	}
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		b.Fatal(err)
	}
	fields := strings.Fields(string(statm))
	pages, _ := strconv.ParseUint(fields[1], 10, 64)
	return m.HeapInuse + m.StackInuse, pages * uint64(os.Getpagesize())
}

// BenchmarkIdleConnections measures the memory this server holds per idle
// WebSocket, with idleConnections of them open. The clients live in a
// helper process (this test binary again), so their memory is not counted.
func BenchmarkIdleConnections(b *testing.B) {
	raiseFileLimit(b)
	e := newEnv(b)
	users := make([]person, 50)
	for i := range users {
		users[i] = e.user(fmt.Sprintf("User %d", i), authn.RoleEmployee)
	}
	// One connection first, so that what every connection shares (pools,
	// buffers, the upgrader's state) is in the baseline.
	warm, _, err := dial(e.url(), e.wsTicket(e.url(), users[0]), nil)
	if err != nil {
		b.Fatal(err)
	}
	_ = warm.Close()
	tickets := filepath.Join(b.TempDir(), "tickets")
	var list bytes.Buffer
	for i := range idleConnections {
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
		holder := holdConnections(b, e.url(), tickets)
		time.Sleep(2 * time.Second) // let the last handshakes' garbage become garbage
		heap1, rss1 := memoryInUse(b)
		b.ReportMetric(float64(heap1-heap0)/idleConnections, "heap+stack-B/conn")
		b.ReportMetric(float64(rss1-rss0)/idleConnections, "rss-B/conn")
		b.ReportMetric(idleConnections, "conns")
		holder()
	}
}

// holdConnections starts the helper process that opens a connection with
// each ticket in the file, waits until all are open, and returns a
// function that ends the process.
func holdConnections(b *testing.B, url, tickets string) func() {
	return holdN(b, url, tickets, idleConnections)
}

// TestHelperHoldIdleConnections is the helper process of
// BenchmarkIdleConnections; it does nothing in a normal test run.
func TestHelperHoldIdleConnections(t *testing.T) {
	file, url := os.Getenv(holdTicketsEnv), os.Getenv(holdURLEnv)
	if file == "" {
		t.Skip("only run by BenchmarkIdleConnections")
	}
	var lim syscall.Rlimit
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	lim.Cur = lim.Max
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	tickets := strings.Fields(string(raw))
	conns := make(chan *websocket.Conn, len(tickets))
	work := make(chan string)
	var dialers sync.WaitGroup
	for range 32 {
		dialers.Go(func() {
			for ticket := range work {
				ws, _, err := dial(url, ticket, nil)
				if err != nil {
					t.Errorf("dial: %v", err)
					continue
				}
				conns <- ws
				// Read, so pings are answered.
				go func() {
					for {
						if _, _, err := ws.ReadMessage(); err != nil {
							return
						}
					}
				}()
			}
		})
	}
	for _, ticket := range tickets {
		work <- ticket
	}
	close(work)
	dialers.Wait()
	fmt.Printf("held %d\n", len(conns))
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the benchmark closes stdin
	close(conns)
	for ws := range conns {
		_ = ws.Close()
	}
}

// BenchmarkFanOut measures how long a comment takes from its POST to its
// arrival on each of fanOutViewers sockets subscribed to its ticket, with
// comments posted at fanOutRate per second and the outbox relay running.
func BenchmarkFanOut(b *testing.B) {
	raiseFileLimit(b)
	e := newEnv(b)
	productionPool(b, e)
	amqpURL := testenv.VHost(b)
	pub := rabbitmq.NewPublisher(amqpURL, rabbitmq.DefaultExchange, testenv.Logger(b))
	b.Cleanup(func() { _ = pub.Close() })
	relayCtx, stopRelay := context.WithCancel(context.Background())
	relayDone := make(chan struct{})
	go func() {
		defer close(relayDone)
		_ = outbox.NewRelay(e.pool, pub, testenv.Logger(b), outbox.RelayOptions{}).Run(relayCtx)
	}()
	b.Cleanup(func() {
		stopRelay()
		<-relayDone
	})

	requester := e.user("Requester", authn.RoleEmployee)
	tk := e.ticket(requester)
	agent := e.user("Agent", authn.RoleAgent)
	viewers := []person{requester}
	for i := 1; i < fanOutViewers; i++ {
		viewers = append(viewers, e.user(fmt.Sprintf("Agent %d", i), authn.RoleAgent))
	}

	sent := make([]atomic.Int64, fanOutComments)     // unix nanos at POST
	answered := make([]atomic.Int64, fanOutComments) // nanos the POST took
	var (
		mu        sync.Mutex
		latencies []time.Duration
		// first and last are when comment i reached its first and its last
		// socket: their difference is the fan-out's own cost.
		first = make([]time.Time, fanOutComments)
		last  = make([]time.Time, fanOutComments)
	)
	var readers sync.WaitGroup
	var sockets []*websocket.Conn
	b.Cleanup(func() {
		for _, ws := range sockets {
			_ = ws.Close()
		}
		readers.Wait()
	})
	for _, v := range viewers {
		ws := benchSubscriber(b, e, v, tk.ID)
		sockets = append(sockets, ws)
		readers.Go(func() {
			for {
				_, data, err := ws.ReadMessage()
				if err != nil {
					return
				}
				at := time.Now()
				if i, ok := commentIndex(data); ok {
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

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ResetTimer()
	for range b.N {
		latencies = latencies[:0]
		postAtRate(b, client, e.url()+"/messaging/tickets/"+tk.ID+"/comments", agent.token, sent, answered)
		want := fanOutComments * fanOutViewers
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			n := len(latencies)
			mu.Unlock()
			if n >= want {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		mu.Lock()
		got := slices.Clone(latencies)
		spread := make([]time.Duration, fanOutComments)
		for i := range spread {
			spread[i] = last[i].Sub(first[i])
		}
		mu.Unlock()
		posts := make([]time.Duration, fanOutComments)
		for i := range answered {
			posts[i] = time.Duration(answered[i].Load())
		}
		b.ReportMetric(float64(len(got))/float64(want), "delivered")
		reportPercentiles(b, "", got, 0.50, 0.99, 1)
		reportPercentiles(b, "post-", posts, 0.50, 0.99)
		reportPercentiles(b, "spread-", spread, 0.50, 0.99)
	}
}

// productionPool replaces the test's small pool, and the replica on it,
// with a replica on a pool of DATABASE_MAX_CONNS's default size.
func productionPool(b *testing.B, e *env) {
	pool, err := postgres.Open(context.Background(), testenv.DatabaseURL(), e.schema, 10)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	e.replicas[0].stop()
	e.replicas[0].srv.Close()
	e.pool, e.replicas = pool, nil
	e.addReplica()
}

// reportPercentiles reports the given percentiles of ds in milliseconds,
// as "<prefix>p50-ms" and so on ("max" for 1).
func reportPercentiles(b *testing.B, prefix string, ds []time.Duration, ps ...float64) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	for _, p := range ps {
		d := ds[min(len(ds)-1, int(p*float64(len(ds))))]
		name := fmt.Sprintf("p%g", p*100)
		if p == 1 {
			name = "max"
		}
		b.ReportMetric(float64(d)/float64(time.Millisecond), prefix+name+"-ms")
	}
}

// benchSubscriber opens v's socket and subscribes it to the ticket.
func benchSubscriber(b *testing.B, e *env, v person, ticketID string) *websocket.Conn {
	ws, _, err := dial(e.url(), e.wsTicket(e.url(), v), nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := ws.WriteJSON(map[string]string{"type": messaging.FrameSubscribe, "ticket_id": ticketID}); err != nil {
		b.Fatal(err)
	}
	for {
		var f messaging.Frame
		if err := ws.ReadJSON(&f); err != nil {
			b.Fatal(err)
		}
		if f.Type == messaging.FramePresence {
			return ws
		}
	}
}

// postAtRate posts fanOutComments comments at fanOutRate per second,
// recording when each POST started and how long it took; comment i's
// body is "c<i>".
func postAtRate(b *testing.B, client *http.Client, url, token string, sent, answered []atomic.Int64) {
	tick := time.NewTicker(time.Second / fanOutRate)
	defer tick.Stop()
	var posts sync.WaitGroup
	for i := range fanOutComments {
		<-tick.C
		posts.Go(func() {
			body := fmt.Sprintf(`{"body":"c%d"}`, i)
			req, _ := http.NewRequest("POST", url, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
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
	posts.Wait()
}

// commentIndex returns i of a comment.created frame whose body is "c<i>".
func commentIndex(data []byte) (int, bool) {
	if !bytes.Contains(data, []byte(`"comment.created"`)) {
		return 0, false
	}
	var f struct {
		Data struct {
			Body string `json:"body"`
		} `json:"data"`
	}
	if json.Unmarshal(data, &f) != nil || !strings.HasPrefix(f.Data.Body, "c") {
		return 0, false
	}
	i, err := strconv.Atoi(f.Data.Body[1:])
	return i, err == nil && i >= 0 && i < fanOutComments
}
