package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/workflows"
)

var errNoPriority = apperr.New(apperr.NotFound, "no such priority (low, normal, high or urgent)")

const slaColumns = `priority, first_response_seconds, resolution_seconds, warn_ratio, business_hours, auto_close_seconds`

func scanSLAPolicy(row pgx.Row) (workflows.SLAPolicy, error) {
	var p workflows.SLAPolicy
	err := row.Scan(&p.Priority, &p.FirstResponseSeconds, &p.ResolutionSeconds, &p.WarnRatio, &p.BusinessHours, &p.AutoCloseSeconds)
	return p, err
}

// SLAPolicy returns the saved policy of a priority, or
// workflows.DefaultSLAPolicy when none was saved (NotFound for an unknown
// priority).
func (s *Store) SLAPolicy(ctx context.Context, priority string) (workflows.SLAPolicy, error) {
	if !slices.Contains(workflows.Priorities, priority) {
		return workflows.SLAPolicy{}, errNoPriority
	}
	p, err := scanSLAPolicy(s.pool.QueryRow(ctx, `SELECT `+slaColumns+` FROM sla_policies WHERE priority = $1`, priority))
	if errors.Is(err, pgx.ErrNoRows) {
		return workflows.DefaultSLAPolicy(priority), nil
	}
	if err != nil {
		return workflows.SLAPolicy{}, fmt.Errorf("read SLA policy %s: %w", priority, err)
	}
	return p, nil
}

// SLAPolicies returns the policy of every priority, lowest first, saved or
// default.
func (s *Store) SLAPolicies(ctx context.Context) ([]workflows.SLAPolicy, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+slaColumns+` FROM sla_policies`)
	if err != nil {
		return nil, fmt.Errorf("list SLA policies: %w", err)
	}
	saved, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (workflows.SLAPolicy, error) { return scanSLAPolicy(r) })
	if err != nil {
		return nil, fmt.Errorf("list SLA policies: %w", err)
	}
	out := make([]workflows.SLAPolicy, 0, len(workflows.Priorities))
	for _, prio := range workflows.Priorities {
		p := workflows.DefaultSLAPolicy(prio)
		if i := slices.IndexFunc(saved, func(s workflows.SLAPolicy) bool { return s.Priority == prio }); i >= 0 {
			p = saved[i]
		}
		out = append(out, p)
	}
	return out, nil
}

// SaveSLAPolicy validates p and makes it the policy of p.Priority for
// tickets opened from now on.
func (s *Store) SaveSLAPolicy(ctx context.Context, p workflows.SLAPolicy) (workflows.SLAPolicy, error) {
	if err := p.Validate(); err != nil {
		return workflows.SLAPolicy{}, err
	}
	saved, err := scanSLAPolicy(s.pool.QueryRow(ctx, `
		INSERT INTO sla_policies (`+slaColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (priority) DO UPDATE SET
			first_response_seconds = EXCLUDED.first_response_seconds,
			resolution_seconds = EXCLUDED.resolution_seconds,
			warn_ratio = EXCLUDED.warn_ratio,
			business_hours = EXCLUDED.business_hours,
			auto_close_seconds = EXCLUDED.auto_close_seconds,
			updated_at = now()
		RETURNING `+slaColumns,
		p.Priority, p.FirstResponseSeconds, p.ResolutionSeconds, p.WarnRatio, p.BusinessHours, p.AutoCloseSeconds))
	if err != nil {
		return workflows.SLAPolicy{}, fmt.Errorf("save SLA policy %s: %w", p.Priority, err)
	}
	return saved, nil
}
