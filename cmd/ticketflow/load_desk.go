package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/ticketflow/ticketflow/api/auth"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/workflows"
)

// loadState is what `ticketflow load setup` prepared and the scenarios
// use: the desk (category, team), its users and their credentials.
// Access tokens live 15 minutes, so the state keeps the password and the
// scenarios sign in again when theirs run out.
type loadState struct {
	Base       string     `json:"base"`
	Tag        string     `json:"tag"`
	CreatedAt  time.Time  `json:"created_at"`
	Password   string     `json:"password"`
	CategoryID string     `json:"category_id"`
	TeamID     string     `json:"team_id"`
	Admin      loadUser   `json:"admin"`
	Agents     []loadUser `json:"agents"`
	Employees  []loadUser `json:"employees"`
	// SeedCategories and Seeded are written by `load seed`.
	SeedCategories []string `json:"seed_categories,omitempty"`
	Seeded         int      `json:"seeded,omitempty"`
}

// loadUser is one user of the load desk.
type loadUser struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// categories returns every category the desk's tickets use.
func (s *loadState) categories() []string {
	return append([]string{s.CategoryID}, s.SeedCategories...)
}

func readLoadState(path string) (*loadState, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read load state (run `ticketflow load setup` first): %w", err)
	}
	var s loadState
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("read load state %s: %w", path, err)
	}
	if s.Base == "" || s.CategoryID == "" || len(s.Employees) == 0 || len(s.Agents) == 0 {
		return nil, fmt.Errorf("load state %s is incomplete; run `ticketflow load setup` again", path)
	}
	return &s, nil
}

// write saves the state, readable by its owner only: it holds a password.
func (s *loadState) write(path string) error {
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o600); err != nil {
		return fmt.Errorf("write load state: %w", err)
	}
	return nil
}

// loadClient calls a running Ticketflow's HTTP API.
type loadClient struct {
	base string
	http *http.Client
}

func newLoadClient(base string) *loadClient {
	return &loadClient{base: base, http: &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        2048,
			MaxIdleConnsPerHost: 2048,
			IdleConnTimeout:     90 * time.Second,
		},
	}}
}

// statusError is an answer with an unexpected status; its kind names the
// step and the status, for the report's error counts.
type statusError struct {
	step   string
	status int
	body   string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s: HTTP %d: %s", e.step, e.status, e.body)
}

func (e *statusError) Kind() string { return fmt.Sprintf("%s: HTTP %d", e.step, e.status) }

// transportError is a request that got no answer.
type transportError struct {
	step string
	err  error
}

func (e *transportError) Error() string { return e.step + ": " + e.err.Error() }
func (e *transportError) Kind() string {
	if errors.Is(e.err, context.DeadlineExceeded) {
		return e.step + ": timeout"
	}
	return e.step + ": no answer"
}
func (e *transportError) Unwrap() error { return e.err }

// call sends a request and decodes a 2xx answer into out (when not nil).
// Any status in want is success; another is a *statusError naming step.
func (c *loadClient) call(ctx context.Context, step, method, path, token string, body, out any, want ...int) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return &transportError{step: step, err: err}
	}
	defer res.Body.Close()
	if !slices.Contains(want, res.StatusCode) {
		raw, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return &statusError{step: step, status: res.StatusCode, body: string(bytes.TrimSpace(raw))}
	}
	if out == nil {
		_, err = io.Copy(io.Discard, res.Body)
		return err
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("%s: decode answer: %w", step, err)
	}
	return nil
}

// session is a signed-in user that signs in again shortly before its
// access token expires. Safe for concurrent use.
type session struct {
	c               *loadClient
	email, password string

	mu      sync.Mutex
	token   string
	renewAt time.Time
}

func (c *loadClient) session(email, password string) *session {
	return &session{c: c, email: email, password: password}
}

// bearer returns a valid access token, signing in when there is none or
// it is about to expire.
func (s *session) bearer(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && time.Now().Before(s.renewAt) {
		return s.token, nil
	}
	var pair struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	err := s.c.call(ctx, "login", http.MethodPost, "/auth/login", "", map[string]string{"email": s.email, "password": s.password}, &pair, http.StatusOK)
	if err != nil {
		return "", fmt.Errorf("sign in as %s: %w", s.email, err)
	}
	// Renew at four fifths of the lifetime, so that no request leaves
	// with a token that expires on the way.
	s.token, s.renewAt = pair.AccessToken, time.Now().Add(time.Duration(pair.ExpiresIn)*time.Second*4/5)
	return s.token, nil
}

// signInAll signs every user in, a few at a time (password hashing is
// slow on purpose), so that no measurement pays for it.
func (c *loadClient) signInAll(ctx context.Context, users []loadUser, password string) ([]*session, error) {
	out := make([]*session, len(users))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, u := range users {
		out[i] = c.session(u.Email, password)
		g.Go(func() error {
			_, err := out[i].bearer(ctx)
			return err
		})
	}
	return out, g.Wait()
}

func newLoadSetupCommand(statePath *string) *cobra.Command {
	var (
		base              string
		agents, employees int
		password          string
	)
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Prepare a desk to measure: an admin, agents in a team, a category, employees",
		Long: `setup prepares a desk on a running Ticketflow and writes the load state file
(--state) that the other load commands read. The admin and the agents are made
as ` + "`ticketflow admin create-user`" + ` makes them, in-process against DATABASE_URL
(so run setup with the server's configuration); everything else goes through
the API at --base: a category, a team that handles it (with every agent
available), the category's process definition naming the team, and employees
who register themselves. Each run makes a fresh desk with its own tag.`,
		Example: `  ticketflow load setup --base http://127.0.0.1:8080 --agents 4 --employees 20`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if agents < 1 || employees < 1 {
				return errors.New("--agents and --employees must be at least 1")
			}
			st, err := setUpLoadDesk(cmd.Context(), base, agents, employees, password)
			if err != nil {
				return err
			}
			if err := st.write(*statePath); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "desk %s ready: category %s, team %s, %d agents, %d employees; state in %s\n",
				st.Tag, st.CategoryID, st.TeamID, len(st.Agents), len(st.Employees), *statePath)
			return nil
		},
	}
	cmd.Flags().StringVar(&base, "base", "http://127.0.0.1:8080", "base URL of the running Ticketflow (`ticketflow dev` or the gateway)")
	cmd.Flags().IntVar(&agents, "agents", 4, "agents in the desk's team")
	cmd.Flags().IntVar(&employees, "employees", 20, "employees who open tickets")
	cmd.Flags().StringVar(&password, "password", "load test password", "password of every user of the desk")
	return cmd
}

// setUpLoadDesk makes the desk and returns its state.
func setUpLoadDesk(ctx context.Context, base string, agents, employees int, password string) (*loadState, error) {
	tag, err := randomTag()
	if err != nil {
		return nil, err
	}
	st := &loadState{Base: base, Tag: tag, CreatedAt: time.Now().UTC(), Password: password}
	email := func(who string) string { return fmt.Sprintf("load-%s-%s@example.com", tag, who) }

	// The admin and the agents, as `ticketflow admin create-user` makes them.
	app, err := loadApp()
	if err != nil {
		return nil, err
	}
	defer app.Close()
	svc, _, err := app.AuthService(ctx)
	if err != nil {
		return nil, err
	}
	create := func(who, name string, role authn.Role) (loadUser, error) {
		u, err := svc.CreateUser(ctx, auth.NewUser{Email: email(who), Password: password, Name: name, Role: role})
		if err != nil {
			return loadUser{}, fmt.Errorf("create %s: %w", role, err)
		}
		return loadUser{ID: u.ID, Email: u.Email}, nil
	}
	if st.Admin, err = create("admin", "Load admin "+tag, authn.RoleAdmin); err != nil {
		return nil, err
	}
	for i := range agents {
		a, err := create(fmt.Sprintf("agent%d", i+1), fmt.Sprintf("Load agent %d", i+1), authn.RoleAgent)
		if err != nil {
			return nil, err
		}
		st.Agents = append(st.Agents, a)
	}

	c := newLoadClient(base)
	admin := c.session(st.Admin.Email, password)
	token, err := admin.bearer(ctx)
	if err != nil {
		return nil, err
	}
	var cat, team struct {
		ID string `json:"id"`
	}
	if err := c.call(ctx, "create category", http.MethodPost, "/helpdesk/categories", token,
		map[string]string{"name": "Load " + tag, "description": "Tickets opened by ticketflow load"}, &cat, http.StatusCreated); err != nil {
		return nil, err
	}
	if err := c.call(ctx, "create team", http.MethodPost, "/workflow/teams", token,
		map[string]string{"name": "Load " + tag}, &team, http.StatusCreated); err != nil {
		return nil, err
	}
	st.CategoryID, st.TeamID = cat.ID, team.ID

	// The workflow engine learns of the agents from auth's user.created.
	if err := waitForAgents(ctx, c, token, st.Agents); err != nil {
		return nil, err
	}
	for _, a := range st.Agents {
		if err := c.call(ctx, "add team member", http.MethodPut, "/workflow/teams/"+team.ID+"/members/"+a.ID, token,
			map[string]bool{"available": true}, nil, http.StatusOK, http.StatusCreated); err != nil {
			return nil, err
		}
	}
	def := workflows.DefaultDefinition()
	def.TeamID = team.ID
	if err := c.call(ctx, "set definition", http.MethodPut, "/workflow/definitions/"+cat.ID, token, def, nil, http.StatusOK); err != nil {
		return nil, err
	}

	// Employees register themselves, as they would.
	st.Employees = make([]loadUser, employees)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i := range employees {
		g.Go(func() error {
			var u struct {
				ID    string `json:"id"`
				Email string `json:"email"`
			}
			if err := c.call(gctx, "register", http.MethodPost, "/auth/register", "", map[string]string{
				"email": email(fmt.Sprintf("employee%d", i+1)), "password": password, "name": fmt.Sprintf("Load employee %d", i+1),
			}, &u, http.StatusCreated); err != nil {
				return err
			}
			st.Employees[i] = loadUser{ID: u.ID, Email: u.Email}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return st, nil
}

// waitForAgents waits until GET /workflow/agents lists every agent.
func waitForAgents(ctx context.Context, c *loadClient, token string, agents []loadUser) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		var page struct {
			Items []struct {
				UserID string `json:"user_id"`
			} `json:"items"`
		}
		err := c.call(ctx, "list agents", http.MethodGet, "/workflow/agents", token, nil, &page, http.StatusOK)
		if err == nil {
			known := 0
			for _, a := range agents {
				if slices.ContainsFunc(page.Items, func(i struct {
					UserID string `json:"user_id"`
				}) bool {
					return i.UserID == a.ID
				}) {
					known++
				}
			}
			if known == len(agents) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the agents did not reach the workflow engine's directory within 30s (is the server consuming user.created?): %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// randomTag returns 6 random hex digits that set a run's names apart.
func randomTag() (string, error) {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
