package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// How a team picks the agent of a new ticket.
const (
	// StrategyRoundRobin takes the eligible members in turn.
	StrategyRoundRobin = "round_robin"
	// StrategyFewestOpen takes the eligible member with the fewest open
	// tickets; ties go to the next one after the member picked last.
	StrategyFewestOpen = "fewest_open"
)

// MaxCapacity is the largest capacity a member may be given.
const MaxCapacity = 10000

// countsAsOpen reports whether a ticket of the status counts towards its
// agent's workload: every status but resolved and closed.
func countsAsOpen(status string) bool { return status != "resolved" && status != "closed" }

// checkStrategy returns an Unprocessable error unless s is a strategy.
func checkStrategy(s string) error {
	if s != StrategyRoundRobin && s != StrategyFewestOpen {
		return apperr.WithFields(apperr.Unprocessable, "the team is invalid",
			apperr.FieldError{Field: "strategy", Message: "must be round_robin or fewest_open"})
	}
	return nil
}

// checkCapacity returns an Unprocessable error unless c is nil (no limit)
// or between 1 and MaxCapacity.
func checkCapacity(c *int) error {
	if c != nil && (*c < 1 || *c > MaxCapacity) {
		return apperr.WithFields(apperr.Unprocessable, "the member is invalid",
			apperr.FieldError{Field: "capacity", Message: fmt.Sprintf("must be null (no limit) or 1-%d", MaxCapacity)})
	}
	return nil
}

// Assignment is what AssignTicket did.
type Assignment struct {
	// AgentID is the agent picked, "" when nobody has room.
	AgentID string
	// Released is the agent the ticket was open for before, when it moved
	// from another agent (an escalation): they may have room now.
	Released string
}

// candidate is an eligible member with their limit and workload.
type candidate struct {
	id       string
	capacity *int
	open     int
}

// pickMember picks the member of the team who gets the next ticket, in the
// transaction that advanced the team's cursor to pos (which serializes the
// team's assignments). It returns errNobodyAvailable when no eligible
// member has room.
//
// When the team has a member with a capacity, or picks by workload, the
// eligible members' directory rows are locked (in ID order, so two teams
// sharing members cannot deadlock) before their open tickets are counted:
// assignments of other teams to the same agents wait, and no agent is
// given more than their capacity by concurrent assignments.
func pickMember(ctx context.Context, tx pgx.Tx, teamID string, pos int64) (string, error) {
	var (
		strategy string
		last     *string
	)
	err := tx.QueryRow(ctx, `
		SELECT t.strategy, c.last_agent_id::text FROM teams t JOIN team_cursors c ON c.team_id = t.id
		WHERE t.id = $1`, teamID).Scan(&strategy, &last)
	if err != nil {
		return "", fmt.Errorf("read strategy of team %s: %w", teamID, err)
	}
	rows, err := tx.Query(ctx, `
		SELECT m.user_id::text, m.capacity FROM team_members m JOIN agents a ON a.user_id = m.user_id
		WHERE m.team_id = $1 AND m.available AND `+assignableSQL+`
		ORDER BY m.user_id`, teamID)
	if err != nil {
		return "", fmt.Errorf("read eligible members: %w", err)
	}
	members, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (candidate, error) {
		var c candidate
		return c, r.Scan(&c.id, &c.capacity)
	})
	if err != nil {
		return "", fmt.Errorf("read eligible members: %w", err)
	}
	if len(members) == 0 {
		return "", errNobodyAvailable
	}
	limited := slices.ContainsFunc(members, func(c candidate) bool { return c.capacity != nil })
	if strategy == StrategyRoundRobin && !limited {
		return members[pos%int64(len(members))].id, nil
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.id
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM agents WHERE user_id = ANY($1::uuid[]) ORDER BY user_id FOR NO KEY UPDATE`, ids); err != nil {
		return "", fmt.Errorf("lock members of team %s: %w", teamID, err)
	}
	load, err := openCounts(ctx, tx, ids)
	if err != nil {
		return "", err
	}
	room := members[:0]
	for _, m := range members {
		m.open = load[m.id]
		if m.capacity == nil || m.open < *m.capacity {
			room = append(room, m)
		}
	}
	if len(room) == 0 {
		return "", errNobodyAvailable
	}
	if strategy == StrategyRoundRobin {
		return room[pos%int64(len(room))].id, nil
	}
	fewest := room[0].open
	for _, m := range room {
		fewest = min(fewest, m.open)
	}
	var tied []string
	for _, m := range room {
		if m.open == fewest {
			tied = append(tied, m.id)
		}
	}
	// Ties go round robin: the first tied member after the one picked last.
	pick := tied[0]
	if last != nil {
		for _, id := range tied {
			if id > *last {
				pick = id
				break
			}
		}
	}
	return pick, nil
}

// openCounts returns the number of open tickets of each of the agents
// (absent: none).
func openCounts(ctx context.Context, q postgres.Querier, agentIDs []string) (map[string]int, error) {
	rows, err := q.Query(ctx, `SELECT agent_id::text, count(*) FROM open_tickets WHERE agent_id = ANY($1::uuid[]) GROUP BY agent_id`, agentIDs)
	if err != nil {
		return nil, fmt.Errorf("count open tickets: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			id string
			n  int
		)
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count open tickets: %w", err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count open tickets: %w", err)
	}
	return out, nil
}

// markOpen records in tx that the ticket is open for agent and returns the
// agent it was open for before, if another.
func markOpen(ctx context.Context, tx pgx.Tx, ticketID, agent string) (string, error) {
	var previous string
	err := tx.QueryRow(ctx, `SELECT agent_id::text FROM open_tickets WHERE ticket_id = $1 FOR UPDATE`, ticketID).Scan(&previous)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("read open ticket %s: %w", ticketID, err)
	}
	if previous == agent {
		return "", nil
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO open_tickets (ticket_id, agent_id) VALUES ($1, $2)
		ON CONFLICT (ticket_id) DO UPDATE SET agent_id = EXCLUDED.agent_id, assigned_at = now()`, ticketID, agent); err != nil {
		return "", fmt.Errorf("record open ticket %s: %w", ticketID, err)
	}
	return previous, nil
}

// AssignTicket is AssignNext for a ticket: the agent picked by the team's
// strategy, among the members with room, gets the ticket in their open
// set in the same transaction, so that the next assignment counts it.
// The key makes it idempotent as in AssignNext.
func (s *Store) AssignTicket(ctx context.Context, teamID, ticketID, key string) (Assignment, error) {
	tid, ok := canonicalID(ticketID)
	if !ok {
		return Assignment{}, apperr.New(apperr.Invalid, "assign ticket: ticket %q must be a UUID", ticketID)
	}
	var released string
	agent, err := s.assignNext(ctx, teamID, key, func(tx pgx.Tx, agent string) error {
		var err error
		released, err = markOpen(ctx, tx, tid, agent)
		return err
	})
	return Assignment{AgentID: agent, Released: released}, err
}

// SyncOpenTicket keeps the agents' open sets in step with a ticket's
// recorded state: a resolved or closed ticket, or one without an
// assignee, is open for nobody; any other is open for its assignee. It
// returns the agent the ticket stopped being open for, if any, who may now
// have room for a waiting ticket. A reopened ticket goes back to its agent
// whatever their capacity (capacity limits automatic assignment only).
func (s *Store) SyncOpenTicket(ctx context.Context, ticketID, assigneeID, status string) (string, error) {
	tid, ok := canonicalID(ticketID)
	if !ok {
		return "", apperr.New(apperr.Invalid, "sync open ticket: ticket %q must be a UUID", ticketID)
	}
	if !countsAsOpen(status) || assigneeID == "" {
		var freed string
		err := s.pool.QueryRow(ctx, `DELETE FROM open_tickets WHERE ticket_id = $1 RETURNING agent_id::text`, tid).Scan(&freed)
		if errors.Is(err, pgx.ErrNoRows) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("release open ticket %s: %w", tid, err)
		}
		return freed, nil
	}
	agent, ok := canonicalID(assigneeID)
	if !ok {
		return "", apperr.New(apperr.Invalid, "sync open ticket: assignee %q must be a UUID", assigneeID)
	}
	var freed string
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		freed, err = markOpen(ctx, tx, tid, agent)
		return err
	})
	return freed, err
}

// OpenTickets returns the number of open tickets of each agent who has
// any, by user ID.
func (s *Store) OpenTickets(ctx context.Context) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT agent_id::text, count(*) FROM open_tickets GROUP BY agent_id`)
	if err != nil {
		return nil, fmt.Errorf("count open tickets: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			id string
			n  int
		)
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count open tickets: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

// WaitingForAgent returns up to limit tickets waiting for a team the agent
// is a member of, longest waiting first: those an agent who now has room
// might take.
func (s *Store) WaitingForAgent(ctx context.Context, agentID string, limit int) ([]string, error) {
	id, ok := canonicalID(agentID)
	if !ok {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT w.ticket_id::text FROM waiting w JOIN team_members m ON m.team_id = w.team_id
		WHERE m.user_id = $1 GROUP BY w.ticket_id ORDER BY min(w.since), w.ticket_id LIMIT $2`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("list tickets waiting for the teams of %s: %w", id, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list tickets waiting for the teams of %s: %w", id, err)
	}
	return ids, nil
}

// fillStrategies sets the Strategy of each of teams from the database.
func fillStrategies(ctx context.Context, q postgres.Querier, teams []Team) error {
	if len(teams) == 0 {
		return nil
	}
	ids := make([]string, len(teams))
	for i, t := range teams {
		ids[i] = t.ID
	}
	rows, err := q.Query(ctx, `SELECT id::text, strategy FROM teams WHERE id = ANY($1::uuid[])`, ids)
	if err != nil {
		return fmt.Errorf("read team strategies: %w", err)
	}
	defer rows.Close()
	byID := map[string]string{}
	for rows.Next() {
		var id, strategy string
		if err := rows.Scan(&id, &strategy); err != nil {
			return fmt.Errorf("read team strategies: %w", err)
		}
		byID[id] = strategy
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read team strategies: %w", err)
	}
	for i := range teams {
		teams[i].Strategy = byID[teams[i].ID]
		if teams[i].Strategy == "" {
			teams[i].Strategy = StrategyRoundRobin
		}
	}
	return nil
}

// SetCapacity sets the capacity of an existing member of the team (nil:
// no limit) and returns the member (NotFound when the user is not a
// member; Unprocessable for a capacity out of range). GainedRoom in the
// answer tells whether the member may now take more tickets than before.
func (s *Store) SetCapacity(ctx context.Context, teamID, userID string, capacity *int) (MemberChange, bool, error) {
	if err := checkCapacity(capacity); err != nil {
		return MemberChange{}, false, err
	}
	teamID, ok := canonicalID(teamID)
	if !ok {
		return MemberChange{}, false, errNoTeam
	}
	userID, ok = canonicalID(userID)
	if !ok {
		return MemberChange{}, false, errNoMember
	}
	var (
		change MemberChange
		gained bool
	)
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var old *int
		err := tx.QueryRow(ctx, `SELECT capacity FROM team_members WHERE team_id = $1 AND user_id = $2 FOR UPDATE`, teamID, userID).Scan(&old)
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := teamByID(ctx, tx, teamID); err != nil {
				return err
			}
			return errNoMember
		}
		if err != nil {
			return fmt.Errorf("read member %s of team %s: %w", userID, teamID, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE team_members SET capacity = $3, updated_at = now() WHERE team_id = $1 AND user_id = $2`,
			teamID, userID, capacity); err != nil {
			return fmt.Errorf("set capacity of member %s of team %s: %w", userID, teamID, err)
		}
		gained = old != nil && (capacity == nil || *capacity > *old)
		members, err := membersOf(ctx, tx, []string{teamID})
		if err != nil {
			return err
		}
		for _, m := range members[teamID] {
			if m.UserID == userID {
				change.Member = m
			}
		}
		return nil
	})
	if err != nil {
		return MemberChange{}, false, err
	}
	return change, gained, nil
}

// decodeCapacity reads the capacity of a member request: absent (set
// false), null (no limit) or a whole number in range; anything else is
// Unprocessable, before anything is written.
func decodeCapacity(raw []byte) (capacity *int, set bool, err error) {
	if raw == nil {
		return nil, false, nil
	}
	bad := apperr.WithFields(apperr.Unprocessable, "the request has invalid fields",
		apperr.FieldError{Field: "capacity", Message: fmt.Sprintf("must be null (no limit) or a whole number 1-%d", MaxCapacity)})
	if string(bytes.TrimSpace(raw)) == "null" {
		return nil, true, nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, false, bad
	}
	if checkCapacity(&n) != nil {
		return nil, false, bad
	}
	return &n, true, nil
}
