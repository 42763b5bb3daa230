package helpdesk

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/postgres"
)

const surveyColumns = `ticket_id::text, requester_id::text, agent_id::text, team_id::text, token_id::text, request_key,
	requested_at, expires_at, rating, comment, rated_at, rated_via`

func scanSurvey(row pgx.Row) (Survey, error) {
	var sv Survey
	err := row.Scan(&sv.TicketID, &sv.requesterID, &sv.AgentID, &sv.TeamID, &sv.tokenID, &sv.requestKey,
		&sv.RequestedAt, &sv.ExpiresAt, &sv.Rating, &sv.Comment, &sv.RatedAt, &sv.RatedVia)
	if err != nil {
		return Survey{}, err
	}
	sv.Status = "pending"
	if sv.Rating != nil {
		sv.Status = "rated"
	}
	return sv, nil
}

// surveyByTicket reads the survey of a ticket, locking it when forUpdate
// is given and true; found is false when there is none.
func surveyByTicket(ctx context.Context, q postgres.Querier, ticketID string, forUpdate ...bool) (sv Survey, found bool, err error) {
	sql := `SELECT ` + surveyColumns + ` FROM ticket_surveys WHERE ticket_id = $1`
	if len(forUpdate) > 0 && forUpdate[0] {
		sql += ` FOR UPDATE`
	}
	sv, err = scanSurvey(q.QueryRow(ctx, sql, ticketID))
	if errors.Is(err, pgx.ErrNoRows) {
		return Survey{}, false, nil
	}
	if err != nil {
		return Survey{}, false, fmt.Errorf("read survey of ticket %s: %w", ticketID, err)
	}
	return sv, true, nil
}

// upsertSurvey stores a new ask for a rating, replacing an unanswered one.
func upsertSurvey(ctx context.Context, q postgres.Querier, ticketID, requesterID string, req SurveyRequest, tokenID string, expires time.Time) (Survey, error) {
	sv, err := scanSurvey(q.QueryRow(ctx, `
		INSERT INTO ticket_surveys (ticket_id, requester_id, agent_id, team_id, token_id, request_key, expires_at)
		VALUES ($1, $2, nullif($3, '')::uuid, nullif($4, '')::uuid, $5, $6, $7)
		ON CONFLICT (ticket_id) DO UPDATE SET
			requester_id = EXCLUDED.requester_id, agent_id = EXCLUDED.agent_id, team_id = EXCLUDED.team_id,
			token_id = EXCLUDED.token_id, request_key = EXCLUDED.request_key,
			requested_at = now(), expires_at = EXCLUDED.expires_at
		WHERE ticket_surveys.rated_at IS NULL
		RETURNING `+surveyColumns,
		ticketID, requesterID, req.AgentID, req.TeamID, tokenID, req.RequestKey, expires))
	if err != nil {
		return Survey{}, fmt.Errorf("save survey of ticket %s: %w", ticketID, err)
	}
	return sv, nil
}

// saveRating writes the rating of an unanswered survey; the condition on
// rated_at keeps the first rating even if a caller skipped the lock.
func saveRating(ctx context.Context, q postgres.Querier, ticketID string, in RatingInput, via string) (Survey, error) {
	sv, err := scanSurvey(q.QueryRow(ctx, `
		UPDATE ticket_surveys SET rating = $2, comment = $3, rated_at = now(), rated_via = $4
		WHERE ticket_id = $1 AND rated_at IS NULL
		RETURNING `+surveyColumns, ticketID, in.Rating, in.Comment, via))
	if err != nil {
		return Survey{}, fmt.Errorf("save rating of ticket %s: %w", ticketID, err)
	}
	return sv, nil
}

// surveyReport counts the ratings per agent and per team and lists the
// latest limit of them.
func surveyReport(ctx context.Context, q postgres.Querier, limit int) (SurveyReport, error) {
	rep := SurveyReport{Agents: []AgentRatings{}, Teams: []TeamRatings{}, Recent: []RatedTicket{}}
	err := q.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE rating = 'good'), count(*) FILTER (WHERE rating = 'bad'),
		       count(*) FILTER (WHERE rating IS NOT NULL), count(*) FILTER (WHERE rating IS NULL)
		FROM ticket_surveys`).Scan(&rep.Overall.Good, &rep.Overall.Bad, &rep.Overall.Total, &rep.Pending)
	if err != nil {
		return SurveyReport{}, fmt.Errorf("count ratings: %w", err)
	}
	rows, err := q.Query(ctx, `
		SELECT s.agent_id::text, coalesce(u.name, ''),
		       count(*) FILTER (WHERE s.rating = 'good'), count(*) FILTER (WHERE s.rating = 'bad'), count(*)
		FROM ticket_surveys s LEFT JOIN users u ON u.id = s.agent_id
		WHERE s.rating IS NOT NULL AND s.agent_id IS NOT NULL
		GROUP BY s.agent_id, u.name ORDER BY count(*) DESC, lower(coalesce(u.name, '')), s.agent_id`)
	if err != nil {
		return SurveyReport{}, fmt.Errorf("ratings per agent: %w", err)
	}
	rep.Agents, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (AgentRatings, error) {
		var a AgentRatings
		return a, r.Scan(&a.AgentID, &a.Name, &a.Good, &a.Bad, &a.Total)
	})
	if err != nil {
		return SurveyReport{}, fmt.Errorf("ratings per agent: %w", err)
	}
	rows, err = q.Query(ctx, `
		SELECT team_id::text, count(*) FILTER (WHERE rating = 'good'), count(*) FILTER (WHERE rating = 'bad'), count(*)
		FROM ticket_surveys WHERE rating IS NOT NULL AND team_id IS NOT NULL
		GROUP BY team_id ORDER BY count(*) DESC, team_id`)
	if err != nil {
		return SurveyReport{}, fmt.Errorf("ratings per team: %w", err)
	}
	rep.Teams, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TeamRatings, error) {
		var t TeamRatings
		return t, r.Scan(&t.TeamID, &t.Good, &t.Bad, &t.Total)
	})
	if err != nil {
		return SurveyReport{}, fmt.Errorf("ratings per team: %w", err)
	}
	rows, err = q.Query(ctx, `
		SELECT s.ticket_id::text, t.title, s.rating, s.comment, s.rated_at, s.rated_via,
		       coalesce(r.name, ''), s.agent_id::text, coalesce(a.name, ''), s.team_id::text
		FROM ticket_surveys s JOIN tickets t ON t.id = s.ticket_id
		LEFT JOIN users r ON r.id = s.requester_id LEFT JOIN users a ON a.id = s.agent_id
		WHERE s.rated_at IS NOT NULL
		ORDER BY s.rated_at DESC, s.ticket_id LIMIT $1`, limit)
	if err != nil {
		return SurveyReport{}, fmt.Errorf("latest ratings: %w", err)
	}
	rep.Recent, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (RatedTicket, error) {
		var t RatedTicket
		return t, r.Scan(&t.TicketID, &t.Title, &t.Rating, &t.Comment, &t.RatedAt, &t.RatedVia,
			&t.RequesterName, &t.AgentID, &t.AgentName, &t.TeamID)
	})
	if err != nil {
		return SurveyReport{}, fmt.Errorf("latest ratings: %w", err)
	}
	return rep, nil
}
