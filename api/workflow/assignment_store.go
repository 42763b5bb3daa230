package workflow

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// errNobodyAvailable rolls back an assignment that found no eligible
// member, so the cursor does not move.
var errNobodyAvailable = errors.New("no member available")

// errKeyTaken rolls back an assignment whose key a concurrent call with
// the same key recorded first.
var errKeyTaken = errors.New("assignment key taken")

// AssignNext assigns the next available member of the team, round robin,
// and returns their user ID. Eligible are the members marked available
// whose directory entry is an active agent or admin, ordered by user ID;
// the team's cursor advances by one atomic UPDATE in the transaction that
// reads them, so concurrent calls each get their own turn and N calls over
// k eligible members give each N/k.
//
// key makes the call idempotent (e.g. "<ticket id>/<seq>"): a key already
// assigned returns the same agent, whoever is available now, without
// advancing the cursor. When nobody is eligible, or teamID is empty or
// names no team, AssignNext returns "" and records nothing.
func (s *Store) AssignNext(ctx context.Context, teamID, key string) (string, error) {
	return s.assignNext(ctx, teamID, key, nil)
}

// assignNext is AssignNext, calling onPick (when not nil) in the
// assignment's transaction with the agent picked. The team's strategy and
// its members' capacities decide the pick (see pickMember).
func (s *Store) assignNext(ctx context.Context, teamID, key string, onPick func(tx pgx.Tx, agent string) error) (string, error) {
	if key == "" {
		return "", errors.New("assign next: empty idempotency key")
	}
	if teamID == "" {
		return "", nil
	}
	teamID, ok := canonicalID(teamID)
	if !ok {
		return "", errNoTeam
	}
	if agent, found, err := assignmentByKey(ctx, s.pool, key); err != nil || found {
		return agent, err
	}
	var agent string
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		// Taking the cursor first serializes the team's assignments on its
		// row, so the members read below are current for this turn.
		var pos int64
		err := tx.QueryRow(ctx, `UPDATE team_cursors SET position = position + 1 WHERE team_id = $1 RETURNING position - 1`, teamID).Scan(&pos)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNobodyAvailable // no such team
		}
		if err != nil {
			return fmt.Errorf("advance cursor: %w", err)
		}
		if agent, err = pickMember(ctx, tx, teamID, pos); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO assignments (key, team_id, agent_id) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`,
			key, teamID, agent)
		if err != nil {
			return fmt.Errorf("record assignment: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errKeyTaken
		}
		if _, err := tx.Exec(ctx, `UPDATE team_cursors SET last_agent_id = $2 WHERE team_id = $1`, teamID, agent); err != nil {
			return fmt.Errorf("record last pick: %w", err)
		}
		if onPick != nil {
			return onPick(tx, agent)
		}
		return nil
	})
	switch {
	case errors.Is(err, errNobodyAvailable):
		return "", nil
	case errors.Is(err, errKeyTaken):
		agent, _, err := assignmentByKey(ctx, s.pool, key)
		return agent, err
	case err != nil:
		return "", fmt.Errorf("assign next member of team %s (%s): %w", teamID, key, err)
	}
	return agent, nil
}

func assignmentByKey(ctx context.Context, q postgres.Querier, key string) (agent string, found bool, err error) {
	err = q.QueryRow(ctx, `SELECT agent_id::text FROM assignments WHERE key = $1`, key).Scan(&agent)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read assignment %s: %w", key, err)
	}
	return agent, true, nil
}

// IsAssignable reports whether the user may be given tickets: an active
// agent or admin in the directory. A malformed ID is simply not assignable.
func (s *Store) IsAssignable(ctx context.Context, userID string) (bool, error) {
	id, ok := canonicalID(userID)
	if !ok {
		return false, nil
	}
	return isAssignable(ctx, s.pool, id)
}

func isAssignable(ctx context.Context, q postgres.Querier, userID string) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `SELECT `+assignableSQL+` FROM agents a WHERE a.user_id = $1`, userID).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read directory entry %s: %w", userID, err)
	}
	return ok, nil
}

// MarkWaiting records that the ticket waits for an available agent of the
// team. Marking it again keeps the time it started waiting, unless the
// team changed.
func (s *Store) MarkWaiting(ctx context.Context, ticketID, teamID string) error {
	tid, ok1 := canonicalID(ticketID)
	team, ok2 := canonicalID(teamID)
	if !ok1 || !ok2 {
		return apperr.New(apperr.Invalid, "mark waiting: ticket %q and team %q must be UUIDs", ticketID, teamID)
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO waiting (ticket_id, team_id) VALUES ($1, $2)
		ON CONFLICT (ticket_id) DO UPDATE
		SET team_id = EXCLUDED.team_id,
		    since = CASE WHEN waiting.team_id = EXCLUDED.team_id THEN waiting.since ELSE EXCLUDED.since END`,
		tid, team)
	if err != nil {
		return fmt.Errorf("mark ticket %s waiting for team %s: %w", tid, team, err)
	}
	return nil
}

// ClearWaiting records that the ticket no longer waits for an agent; a
// ticket that was not waiting is no error.
func (s *Store) ClearWaiting(ctx context.Context, ticketID string) error {
	tid, ok := canonicalID(ticketID)
	if !ok {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM waiting WHERE ticket_id = $1`, tid); err != nil {
		return fmt.Errorf("clear waiting ticket %s: %w", tid, err)
	}
	return nil
}

// WaitingTickets returns the IDs of the tickets waiting for an agent of
// the team, longest waiting first.
func (s *Store) WaitingTickets(ctx context.Context, teamID string) ([]string, error) {
	team, ok := canonicalID(teamID)
	if !ok {
		return nil, errNoTeam
	}
	rows, err := s.pool.Query(ctx, `SELECT ticket_id::text FROM waiting WHERE team_id = $1 ORDER BY since, ticket_id`, team)
	if err != nil {
		return nil, fmt.Errorf("list tickets waiting for team %s: %w", team, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list tickets waiting for team %s: %w", team, err)
	}
	return ids, nil
}
