package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/ticketflow/ticketflow/internal/loadtest"
)

// The pages an agent browses, each a latency step of the browse scenario.
const (
	// pageList is the newest tickets, or those of one status.
	pageList = "list"
	// pageFiltered narrows by category, assignee or priority, with status.
	pageFiltered = "filtered"
	// pageSearch is a full-text search (q), with a filter, the list page
	// the helpdesk's p99 target is about.
	pageSearch = "search"
	// pageDetail and pageHistory are one ticket and its history.
	pageDetail  = "detail"
	pageHistory = "history"
)

// browseMix is one cycle of pages: 4 lists, 4 filtered lists, 6 searches,
// 5 details, 1 history in 20 requests, spread out.
var browseMix = []string{
	pageSearch, pageDetail, pageList, pageFiltered, pageSearch,
	pageDetail, pageList, pageSearch, pageFiltered, pageDetail,
	pageSearch, pageHistory, pageList, pageFiltered, pageDetail,
	pageSearch, pageList, pageFiltered, pageSearch, pageDetail,
}

type browseOptions struct {
	rate        float64
	duration    time.Duration
	maxInFlight int
	compare     bool
}

func newLoadBrowseCommand(statePath *string) *cobra.Command {
	var (
		o    browseOptions
		meas measureFlags
	)
	cmd := &cobra.Command{
		Use:   "browse",
		Short: "List, search and open tickets as agents, at a rate",
		Long: `browse sends --rate helpdesk requests per second for --duration, open-loop, as
the desk's agents, in a fixed cycle of 20: 4 list pages (newest first, or one
status), 4 filtered ones (category, assignee or priority with a status), 6
full-text searches (q, with a filter), 5 ticket details and 1 ticket history,
25 tickets a page. Details are of tickets the lists returned. The latency of
each kind of page is reported apart. Seed the helpdesk first (load seed).

--compare runs, at the same rate and interleaved, two bare PostgreSQL
baselines on DATABASE_URL (a schema of its own, created and dropped, a pool of
4): a plain SELECT of a ticket-shaped row by primary key (the read baseline,
among as many rows as were seeded) and a plain INSERT of one. The report gives
each page's p50, p99 and throughput over each baseline's.`,
		Example: `  ticketflow load browse --rate 200 --duration 30s`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.rate <= 0 {
				return errors.New("--rate must be positive")
			}
			st, err := readLoadState(*statePath)
			if err != nil {
				return err
			}
			return runBrowse(cmd, st, o, meas)
		},
	}
	cmd.Flags().Float64Var(&o.rate, "rate", 200, "requests per second")
	cmd.Flags().DurationVar(&o.duration, "duration", 30*time.Second, "how long arrivals go on")
	cmd.Flags().IntVar(&o.maxInFlight, "max-in-flight", 2000, "requests in flight; arrivals over it are dropped and counted as errors")
	cmd.Flags().BoolVar(&o.compare, "compare", false, "run the bare baselines beside, interleaved: a plain PostgreSQL select by primary key and a plain insert")
	meas.register(cmd)
	return cmd
}

// browser holds what every browse request uses.
type browser struct {
	c          *loadClient
	agents     []*session
	agentIDs   []string
	categories []string
	next       atomic.Int64

	mu  sync.Mutex
	ids []string // tickets seen in lists, for details
}

func runBrowse(cmd *cobra.Command, st *loadState, o browseOptions, meas measureFlags) error {
	ctx := cmd.Context()
	b := &browser{c: newLoadClient(st.Base), categories: st.categories()}
	for _, a := range st.Agents {
		b.agentIDs = append(b.agentIDs, a.ID)
	}
	var err error
	if b.agents, err = b.c.signInAll(ctx, st.Agents, st.Password); err != nil {
		return err
	}
	if err := b.primeIDs(ctx); err != nil {
		return err
	}
	report := newReport(cmd, "browse")
	report.Notes = append(report.Notes, fmt.Sprintf("browse: GET %s/helpdesk/tickets… as %d agents; %d tickets seeded by load seed", st.Base, len(st.Agents), st.Seeded))
	var bl *baselines
	if o.compare {
		if bl, err = startBaselines(ctx, report, baselineOptions{readRows: seedReadRows(st.Seeded)}); err != nil {
			return err
		}
		defer bl.close(ctx)
	}
	ms, err := meas.start(ctx)
	if err != nil {
		return err
	}
	stream := loadtest.NewStream("browse", pageList, pageFiltered, pageSearch, pageDetail, pageHistory)
	runs := []streamRun{{stream: stream, rate: o.rate, op: b.request}}
	if bl != nil {
		runs = append(runs, bl.runs(0, o.rate, o.rate)...)
	}
	stop := ms.progress(ctx, cmd, fmt.Sprintf("browse %g/s", o.rate), o.duration, streamsOf(runs)...)
	runInterleaved(ctx, runs, o.duration, o.maxInFlight, 0)
	stop()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	step := loadtest.Step{Rate: o.rate, Streams: results(runs)}
	pages := []string{pageList, pageFiltered, pageSearch, pageDetail, pageHistory}
	step.AddRatios(append(pairAll("browse", pages, streamSelect, stepSelect), pairAll("browse", pages, streamInsert, stepInsert)...)...)
	report.Steps = []loadtest.Step{step}
	return ms.finish(cmd, report)
}

// primeIDs fills the pool of ticket IDs for details from a few lists.
func (b *browser) primeIDs(ctx context.Context) error {
	token, err := b.agents[0].bearer(ctx)
	if err != nil {
		return err
	}
	for _, q := range []string{"sort=created", "sort=updated", "sort=priority", "status=open", "status=closed"} {
		if _, err := b.list(ctx, pageList, token, q+"&limit=100"); err != nil {
			return err
		}
	}
	if len(b.ids) == 0 {
		return errors.New("the helpdesk lists no tickets: run `ticketflow load seed` first")
	}
	return nil
}

// request sends the next page of the cycle as a random agent and records
// its latency.
func (b *browser) request(ctx context.Context, stream *loadtest.Stream) error {
	kind := browseMix[int(b.next.Add(1)-1)%len(browseMix)]
	token, err := b.agents[rand.IntN(len(b.agents))].bearer(ctx)
	if err != nil {
		return loadtest.Failed("login", err)
	}
	start := time.Now()
	switch kind {
	case pageDetail, pageHistory:
		path := "/helpdesk/tickets/" + b.randomID()
		if kind == pageHistory {
			path += "/history"
		}
		err = b.c.call(ctx, kind, http.MethodGet, path, token, nil, nil, http.StatusOK)
	default:
		_, err = b.list(ctx, kind, token, b.query(kind).Encode())
	}
	if err != nil {
		return err
	}
	stream.Step(kind).Record(time.Since(start))
	return nil
}

// query returns the parameters of a list page of kind.
func (b *browser) query(kind string) url.Values {
	statuses := []string{"new", "open", "pending", "resolved", "closed"}
	v := url.Values{}
	switch kind {
	case pageList:
		if rand.IntN(2) == 0 {
			v.Set("status", statuses[rand.IntN(len(statuses))])
		}
		v.Set("sort", []string{"created", "updated", "priority"}[rand.IntN(3)])
	case pageFiltered:
		switch rand.IntN(3) {
		case 0:
			v.Set("category_id", b.categories[rand.IntN(len(b.categories))])
			v.Set("status", "open")
		case 1:
			v.Set("assignee_id", b.agentIDs[rand.IntN(len(b.agentIDs))])
			v.Set("status", "open")
		case 2:
			v.Set("priority", "high")
			v.Set("category_id", b.categories[rand.IntN(len(b.categories))])
			v.Set("sort", "updated")
		}
	case pageSearch:
		q := pickWord()
		if rand.IntN(3) == 0 {
			q += " " + pickWord()
		}
		v.Set("q", q)
		switch rand.IntN(3) {
		case 0:
			v.Set("status", statuses[rand.IntN(len(statuses))])
		case 1:
			v.Set("category_id", b.categories[rand.IntN(len(b.categories))])
		}
	}
	return v
}

// list fetches a list page and keeps some of its IDs for details.
func (b *browser) list(ctx context.Context, kind, token, query string) (int, error) {
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := b.c.call(ctx, kind, http.MethodGet, "/helpdesk/tickets?"+query, token, nil, &page, http.StatusOK); err != nil {
		return 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, t := range page.Items {
		if i%5 != 0 {
			continue
		}
		if len(b.ids) < 5000 {
			b.ids = append(b.ids, t.ID)
		} else {
			b.ids[rand.IntN(len(b.ids))] = t.ID
		}
	}
	return len(page.Items), nil
}

func (b *browser) randomID() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ids[rand.IntN(len(b.ids))]
}
