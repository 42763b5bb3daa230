package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/postgres"
	"github.com/ticketflow/ticketflow/workflows"
)

var errNoCategory = apperr.New(apperr.NotFound, "no such category")

// Definition returns the category's latest saved process definition, with
// its CategoryID and Version (1 or more) set, or workflows.DefaultDefinition
// with CategoryID set and Version 0 when none was saved. The helpdesk owns
// categories: any well-formed ID has a definition here (NotFound for a
// malformed one).
func (s *Store) Definition(ctx context.Context, categoryID string) (workflows.Definition, error) {
	id, ok := canonicalID(categoryID)
	if !ok {
		return workflows.Definition{}, errNoCategory
	}
	var (
		version int
		body    []byte
	)
	err := s.pool.QueryRow(ctx, `SELECT version, body FROM definitions WHERE category_id = $1 ORDER BY version DESC LIMIT 1`, id).
		Scan(&version, &body)
	if errors.Is(err, pgx.ErrNoRows) {
		d := workflows.DefaultDefinition()
		d.CategoryID, d.Version = id, 0
		return d, nil
	}
	if err != nil {
		return workflows.Definition{}, fmt.Errorf("read definition of category %s: %w", id, err)
	}
	var d workflows.Definition
	if err := json.Unmarshal(body, &d); err != nil {
		return workflows.Definition{}, fmt.Errorf("decode definition %d of category %s: %w", version, id, err)
	}
	d.CategoryID, d.Version = id, version
	return d, nil
}

// SaveDefinition validates d and saves it as the category's next version,
// keeping the earlier ones (runs keep the version they started with). The
// teams it names must exist. It returns the saved definition with its
// version. d's own Version is ignored; its CategoryID, if set, must be
// categoryID.
func (s *Store) SaveDefinition(ctx context.Context, categoryID string, d workflows.Definition) (workflows.Definition, error) {
	id, ok := canonicalID(categoryID)
	if !ok {
		return workflows.Definition{}, errNoCategory
	}
	if d.CategoryID != "" {
		if cid, ok := canonicalID(d.CategoryID); !ok || cid != id {
			return workflows.Definition{}, apperr.WithFields(apperr.Unprocessable, "the process definition is invalid",
				apperr.FieldError{Field: "category_id", Message: "must be the category of the path, or left out"})
		}
	}
	d.CategoryID, d.Version = id, 0
	if err := d.Validate(); err != nil {
		return workflows.Definition{}, err
	}
	// Team IDs are stored canonical, so the workflow can compare them.
	var (
		teams    []string
		problems []apperr.FieldError
	)
	for _, ref := range []struct {
		field string
		id    *string
	}{{"team_id", &d.TeamID}, {"escalation_team_id", &d.EscalationTeamID}} {
		if *ref.id == "" {
			continue
		}
		tid, ok := canonicalID(*ref.id)
		if !ok {
			problems = append(problems, apperr.FieldError{Field: ref.field, Message: "must be the ID of a team"})
			continue
		}
		*ref.id = tid
		teams = append(teams, tid)
	}
	if len(problems) > 0 {
		return workflows.Definition{}, apperr.WithFields(apperr.Unprocessable, "the process definition is invalid", problems...)
	}
	body, err := json.Marshal(d)
	if err != nil {
		return workflows.Definition{}, fmt.Errorf("encode definition of category %s: %w", id, err)
	}
	err = postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		// Saves of one category take turns, so each gets the next version.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '.definitions/' || $1::text, 0))`, id); err != nil {
			return fmt.Errorf("lock definitions: %w", err)
		}
		missing, err := missingTeams(ctx, tx, teams)
		if err != nil {
			return err
		}
		for _, m := range missing {
			field := "team_id"
			if m != d.TeamID {
				field = "escalation_team_id"
			}
			problems = append(problems, apperr.FieldError{Field: field, Message: "no team has this ID"})
		}
		if len(problems) > 0 {
			return apperr.WithFields(apperr.Unprocessable, "the process definition names unknown teams", problems...)
		}
		return tx.QueryRow(ctx, `
			INSERT INTO definitions (category_id, version, body)
			SELECT $1, coalesce(max(version), 0) + 1, $2 FROM definitions WHERE category_id = $1
			RETURNING version`, id, body).Scan(&d.Version)
	})
	if postgres.IsUniqueViolation(err) {
		return workflows.Definition{}, apperr.New(apperr.Conflict, "the definition was changed concurrently; try again")
	}
	if err != nil {
		return workflows.Definition{}, fmt.Errorf("save definition of category %s: %w", id, err)
	}
	return d, nil
}
