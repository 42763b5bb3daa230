package helpdesk_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ticketflow/ticketflow/api/helpdesk"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/cursor"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

// list returns one page of GET /helpdesk/tickets?query as p.
func (e *env) list(p person, query string) httpx.List[helpdesk.Ticket] {
	e.t.Helper()
	var page httpx.List[helpdesk.Ticket]
	e.do("GET", "/helpdesk/tickets?"+query, p.token, nil).ok(e.t, http.StatusOK, &page)
	return page
}

// listAll follows the cursors of a list to its end and returns the ticket
// IDs in order and how many pages it took.
func (e *env) listAll(p person, query string) ([]string, int) {
	e.t.Helper()
	var (
		ids   []string
		pages int
	)
	next := query
	for {
		page := e.list(p, next)
		pages++
		for _, t := range page.Items {
			ids = append(ids, t.ID)
		}
		if page.NextCursor == "" {
			return ids, pages
		}
		next = query + "&cursor=" + url.QueryEscape(page.NextCursor)
		if pages > 100 {
			e.t.Fatal("more than 100 pages")
		}
	}
}

func titles(ts []helpdesk.Ticket) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Title
	}
	slices.Sort(out)
	return out
}

func TestListTickets_PagesWithoutDuplicatesOrGaps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	agent := e.user("Agent", authn.RoleAgent)
	hw := e.category("Hardware")
	priorities := []string{"low", "normal", "high", "urgent"}
	for i := range 23 {
		e.ticket(ana, hw, "Ticket "+string(rune('A'+i)), "priority", priorities[i%4])
	}
	ctx := context.Background()
	// Ties on every sort key but the ID: the tiebreaker alone orders these.
	tie := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := e.pool.Exec(ctx, `UPDATE tickets SET created_at = $1, updated_at = $1
		WHERE id IN (SELECT id FROM tickets ORDER BY id LIMIT 9)`, tie); err != nil {
		t.Fatal(err)
	}
	// updated_at in another order than created_at.
	if _, err := e.pool.Exec(ctx, `UPDATE tickets SET updated_at = updated_at + make_interval(secs => (random() * 1000)::int)
		WHERE created_at <> $1`, tie); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct{ sort, order string }{
		{"created", "created_at DESC, id DESC"},
		{"updated", "updated_at DESC, id DESC"},
		{"priority", "priority_rank DESC, created_at DESC, id DESC"},
	} {
		t.Run(c.sort, func(t *testing.T) {
			var want []string
			rows, err := e.pool.Query(ctx, `SELECT id::text FROM tickets ORDER BY `+c.order)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					t.Fatal(err)
				}
				want = append(want, id)
			}
			for _, p := range []person{ana, agent} {
				got, pages := e.listAll(p, "sort="+c.sort+"&limit=5")
				if !slices.Equal(got, want) || pages != 5 {
					t.Fatalf("%s: %d pages, order\n got %v\nwant %v", p.name, pages, got, want)
				}
			}
		})
	}
	// The default is newest first, 25 a page.
	if page := e.list(agent, ""); len(page.Items) != 23 || page.NextCursor != "" {
		t.Fatalf("default page: %d items, cursor %q", len(page.Items), page.NextCursor)
	}
	if page := e.list(agent, "limit=23"); page.NextCursor != "" {
		t.Fatalf("a page that ends the list has a cursor")
	}
}

func TestListTickets_Filters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	bob := e.user("Bob", authn.RoleEmployee)
	agent := e.user("Agent", authn.RoleAgent)
	hw, net := e.category("Hardware"), e.category("Network")
	laptop := e.ticket(ana, hw, "laptop", "priority", "high")
	wifi := e.ticket(ana, net, "wifi")
	vpn := e.ticket(bob, net, "vpn", "priority", "urgent")
	e.setState(wifi.ID, map[string]any{"change_id": "w1", "step": "in_progress", "status": "open", "assignee_id": agent.id})
	e.setState(vpn.ID, map[string]any{"change_id": "v1", "step": "waiting", "status": "pending", "assignee_id": agent.id})
	if _, err := e.pool.Exec(context.Background(), `UPDATE tickets SET created_at = '2026-01-15T10:00:00Z' WHERE id = $1`, laptop.ID); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		query string
		want  []string
	}{
		{"status=new", []string{"laptop"}},
		{"status=open", []string{"wifi"}},
		{"priority=urgent", []string{"vpn"}},
		{"priority=normal", []string{"wifi"}},
		{"category_id=" + net.ID, []string{"vpn", "wifi"}},
		{"assignee_id=" + agent.id, []string{"vpn", "wifi"}},
		{"assignee_id=none", []string{"laptop"}},
		{"requester_id=" + bob.id, []string{"vpn"}},
		{"created_before=2026-02-01T00:00:00Z", []string{"laptop"}},
		{"created_after=2026-02-01T00:00:00Z", []string{"vpn", "wifi"}},
		{"created_after=2026-01-15T10:00:00Z&created_before=2026-01-15T10:00:00.000001Z", []string{"laptop"}},
		{"category_id=" + net.ID + "&status=pending&assignee_id=" + agent.id, []string{"vpn"}},
		{"status=closed", []string{}},
	}
	for _, c := range cases {
		if got := titles(e.list(agent, c.query).Items); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.query, got, c.want)
		}
	}
	// Employees' filters apply within their own tickets.
	if got := titles(e.list(ana, "category_id="+net.ID).Items); !slices.Equal(got, []string{"wifi"}) {
		t.Errorf("ana's network tickets: %v", got)
	}
}

func TestListTickets_SearchesTitleAndDescription(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	bob := e.user("Bob", authn.RoleEmployee)
	agent := e.user("Agent", authn.RoleAgent)
	hw := e.category("Hardware")
	e.ticket(ana, hw, "Printer on floor 3 jams", "description", "Paper tray broken since Monday.")
	e.ticket(ana, hw, "Laptop screen flickers", "description", "Happens when the printer driver updates.")
	e.ticket(bob, hw, "O'Brien's monitor", "description", "50% brightness only; model X_200 \\ backslash.")
	e.ticket(bob, hw, "Keyboard missing keys", "description", "Robert'); DROP TABLE tickets; -- is my nickname")

	cases := []struct {
		q    string
		want []string
	}{
		{"printer", []string{"Laptop screen flickers", "Printer on floor 3 jams"}},
		{"PRINTER tray", []string{"Printer on floor 3 jams"}},
		{`"paper tray"`, []string{"Printer on floor 3 jams"}},
		{`"tray paper"`, []string{}},
		{"printer -laptop", []string{"Printer on floor 3 jams"}},
		{"keyboard or monitor", []string{"Keyboard missing keys", "O'Brien's monitor"}},
		// SQL and LIKE metacharacters are text like any other.
		{"O'Brien", []string{"O'Brien's monitor"}},
		{"'; DROP TABLE tickets; --", []string{"Keyboard missing keys"}},
		{"Robert'); DROP TABLE tickets; --", []string{"Keyboard missing keys"}},
		{"50%", []string{"O'Brien's monitor"}},
		{"%", []string{}},
		{"_", []string{}},
		{`\`, []string{}},
		{`x_200`, []string{"O'Brien's monitor"}},
		{`" or 1=1 --`, []string{}},
		{"$1", []string{}},
		{"nothing-matches-this", []string{}},
	}
	for _, c := range cases {
		got := titles(e.list(agent, "q="+url.QueryEscape(c.q)).Items)
		if !slices.Equal(got, c.want) {
			t.Errorf("q=%q: got %v, want %v", c.q, got, c.want)
		}
	}
	if n := e.count(`SELECT count(*) FROM tickets`); n != 4 {
		t.Fatalf("tickets = %d after the searches, want 4", n)
	}
	// An employee searches only their own tickets.
	if got := titles(e.list(bob, "q=printer").Items); len(got) != 0 {
		t.Fatalf("bob's printer search: %v", got)
	}
	if got := titles(e.list(ana, "q=printer&limit=1").Items); len(got) != 1 {
		t.Fatalf("ana's first printer page: %v", got)
	}
}

func TestListTickets_BadQueryIsRejected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ana := e.user("Ana", authn.RoleEmployee)
	agent := e.user("Agent", authn.RoleAgent)
	hw := e.category("Hardware")
	for range 3 {
		e.ticket(ana, hw, "Ticket")
	}
	page := e.list(agent, "limit=1")
	if page.NextCursor == "" {
		t.Fatal("no cursor")
	}
	// A cursor changed in any way, or signed with another secret, fails.
	payload, mac, _ := strings.Cut(page.NextCursor, ".")
	tampered := []string{
		"forged",
		flip(payload) + "." + mac,
		payload + "." + flip(mac),
		payload + ".",
		cursor.New("another secret").Encode(helpdesk.TicketPosition{Sort: helpdesk.SortCreated, At: time.Now(), ID: uuid.NewString()}),
	}
	before := e.rows()
	for _, c := range tampered {
		e.do("GET", "/helpdesk/tickets?limit=1&cursor="+url.QueryEscape(c), agent.token, nil).problem(t, http.StatusBadRequest)
	}
	for _, q := range []string{
		"sort=updated&cursor=" + url.QueryEscape(page.NextCursor), // another sort's cursor
		"limit=0", "limit=101", "limit=ten", "limit=-1",
		"sort=oldest", "status=done", "priority=p1",
		"category_id=hardware", "assignee_id=me", "requester_id=1",
		"created_after=yesterday", "created_before=2026-13-01",
		"q=" + strings.Repeat("a", 201), "q=%00",
	} {
		e.do("GET", "/helpdesk/tickets?"+q, agent.token, nil).problem(t, http.StatusBadRequest)
	}
	e.unchanged(before)
	e.do("GET", "/helpdesk/tickets", e.keys.Token(t, uuid.NewString(), "root"), nil).problem(t, http.StatusUnauthorized)
}

// flip changes the first character of s (base64url), which always changes
// the first byte it encodes.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}
