package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/testenv"
)

// processedCount counts the stored messages whose run has finished.
func processedCount(t *testing.T, conn *pgx.Conn) (done, all int) {
	t.Helper()
	err := conn.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE status <> 'received'), count(*) FROM notification.inbound_messages`).Scan(&done, &all)
	if err != nil {
		t.Fatal(err)
	}
	return done, all
}

// benchMessage is message i of a run: a new ticket from one of 20 senders.
func benchMessage(run string, i int) []byte {
	return plainMail(fmt.Sprintf("sender%d@example.org", i%20), "help@example.com", fmt.Sprintf("%s-%d@example.org", run, i),
		fmt.Sprintf("Load %s %d", run, i), "The printer on floor 2 jams again.\r\n\r\n-- \r\nA sender")
}

// loadSize is the number of messages of the burst tests: MAILIN_LOAD, or
// a small default that keeps `make test` quick.
func loadSize(t *testing.T) int {
	n := 40
	if v := os.Getenv("MAILIN_LOAD"); v != "" {
		if _, err := fmt.Sscan(v, &n); err != nil || n < 1 {
			t.Fatalf("MAILIN_LOAD=%q: want a positive number", v)
		}
	}
	return n
}

// TestMailIn_InboundParseBurst posts a burst of messages (MAILIN_LOAD,
// default 40) to the Inbound Parse endpoint of `ticketflow dev` from 8
// clients at once, and each is processed once: one ticket per message. It
// logs how many are accepted per second (stored, run started) and how many
// are processed per second (sender resolved, ticket committed, outcome
// recorded), the figures of BENCHMARKS.md:
//
//	MAILIN_LOAD=300 go test -count=1 -v -run MailIn_InboundParseBurst ./cmd/ticketflow/
func TestMailIn_InboundParseBurst(t *testing.T) {
	n := loadSize(t)
	secret := "inbound-parse-secret-0123456789"
	t.Setenv("MAIL_IN_SENDGRID_SECRET", secret)
	t.Setenv("MAIL_IN_RATE_LIMIT", "100000")
	base, amqpURL := startDev(t)
	setUpDesk(t, base, amqpURL)
	run := testenv.Name("burst")
	msgs := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range msgs {
				if status, body := postInbound(t, base, secret, benchMessage(run, i)); status != 200 {
					t.Errorf("post %d: %d %s", i, status, body)
				}
			}
		}()
	}
	for i := range n {
		msgs <- i
	}
	close(msgs)
	wg.Wait()
	accepted := time.Since(start)
	waitProcessed(t, n)
	processed := time.Since(start)
	checkOneTicketEach(t, run, n)
	t.Logf("Inbound Parse: %d e-mails, 8 clients: accepted %.1f/s (%s), processed %.1f/s (%s)",
		n, float64(n)/accepted.Seconds(), accepted.Round(time.Millisecond), float64(n)/processed.Seconds(), processed.Round(time.Millisecond))
}

// TestMailIn_IMAPBurst delivers a burst of messages (MAILIN_LOAD, default
// 40) to the poller's mailbox, and each is processed once and flagged. It
// logs how many the poller takes through to a committed ticket per second:
//
//	MAILIN_LOAD=300 go test -count=1 -v -run MailIn_IMAPBurst ./cmd/ticketflow/
func TestMailIn_IMAPBurst(t *testing.T) {
	n := loadSize(t)
	d := testenv.StartDovecot(t)
	t.Setenv("IMAP_URL", d.URL())
	t.Setenv("IMAP_INTERVAL", "1s")
	t.Setenv("MAIL_IN_RATE_LIMIT", "100000")
	base, amqpURL := startDev(t)
	setUpDesk(t, base, amqpURL)
	box := mailbox{t: t, d: d}
	run := testenv.Name("burst")
	start := time.Now()
	var uids []imap.UID
	for i := range n {
		uids = append(uids, box.deliver(benchMessage(run, i)))
	}
	delivered := time.Since(start)
	waitProcessed(t, n)
	for _, uid := range uids {
		box.waitDone(uid)
	}
	processed := time.Since(start)
	checkOneTicketEach(t, run, n)
	t.Logf("IMAP poller: %d e-mails: delivered %.1f/s (%s), processed and flagged %.1f/s (%s)",
		n, float64(n)/delivered.Seconds(), delivered.Round(time.Millisecond), float64(n)/processed.Seconds(), processed.Round(time.Millisecond))
}

// waitProcessed waits until n stored messages have been processed.
func waitProcessed(t *testing.T, n int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	deadline := time.Now().Add(10 * time.Minute)
	for {
		done, all := processedCount(t, conn)
		if done >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d stored messages (%d wanted) processed after 10 minutes", done, all, n)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkOneTicketEach checks that each message of the run opened one ticket.
func checkOneTicketEach(t *testing.T, run string, n int) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var tickets, distinct int
	err = conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT title) FROM helpdesk.tickets WHERE title LIKE $1`, "Load "+run+" %").Scan(&tickets, &distinct)
	if err != nil {
		t.Fatal(err)
	}
	if tickets != n || distinct != n {
		t.Fatalf("%d messages opened %d tickets (%d distinct titles)", n, tickets, distinct)
	}
}
