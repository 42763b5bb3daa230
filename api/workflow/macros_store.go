package workflow

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// Macro is a team's canned reply or macro: a body (a public reply, or an
// internal note when Internal) with placeholders, and optional actions
// that move the ticket to a step and set its priority. A canned reply is a
// macro with a body and no actions.
type Macro struct {
	ID       string `json:"id"`
	TeamID   string `json:"team_id"`
	Name     string `json:"name"`
	Body     string `json:"body"`
	Internal bool   `json:"internal"`
	// ToStep is the step the macro moves the ticket to; nil for none.
	ToStep *string `json:"to_step"`
	// Priority is the priority the macro sets; nil for none.
	Priority  *string   `json:"priority"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// HasActions reports whether applying the macro does more than post its body.
func (m Macro) HasActions() bool { return m.ToStep != nil || m.Priority != nil }

// MacroInput is a macro as an admin writes it (create, or the full value
// after a patch).
type MacroInput struct {
	TeamID   string
	Name     string
	Body     string
	Internal bool
	ToStep   *string
	Priority *string
}

const (
	maxMacroName = 100
	// maxMacroBody leaves room within a comment's 64 KiB for placeholders
	// that render longer than they are written.
	maxMacroBody = 16 << 10
)

var (
	errNoMacro      = apperr.New(apperr.NotFound, "no such macro")
	errMacroNameDup = apperr.New(apperr.Conflict, "the team already has a macro with this name")
)

var macroPriorities = map[string]bool{"low": true, "normal": true, "high": true, "urgent": true}

// check validates in and returns it as stored: name trimmed, empty actions
// as nil.
func (in MacroInput) check() (MacroInput, error) {
	var fields []apperr.FieldError
	add := func(field, msg string) { fields = append(fields, apperr.FieldError{Field: field, Message: msg}) }
	if id, ok := canonicalID(in.TeamID); ok {
		in.TeamID = id
	} else {
		add("team_id", "must be a UUID")
	}
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		add("name", "is required")
	case !utf8.ValidString(in.Name) || strings.ContainsRune(in.Name, 0):
		add("name", "must be valid UTF-8 text")
	case utf8.RuneCountInString(in.Name) > maxMacroName:
		add("name", fmt.Sprintf("must be at most %d characters", maxMacroName))
	}
	switch {
	case len(in.Body) > maxMacroBody:
		add("body", fmt.Sprintf("must be at most %d KiB long", maxMacroBody>>10))
	case !utf8.ValidString(in.Body) || strings.ContainsRune(in.Body, 0):
		add("body", "must be valid UTF-8 text without NUL characters")
	default:
		if err := checkPlaceholders(in.Body); err != nil {
			add("body", err.Error())
		}
	}
	if in.ToStep != nil && *in.ToStep == "" {
		in.ToStep = nil
	}
	if in.ToStep != nil && !validStepKey(*in.ToStep) {
		add("to_step", "must be a step key: 1-64 lower-case letters, digits or '_', starting with a letter")
	}
	if in.Priority != nil && *in.Priority == "" {
		in.Priority = nil
	}
	if in.Priority != nil && !macroPriorities[*in.Priority] {
		add("priority", "must be one of: low normal high urgent")
	}
	if strings.TrimSpace(in.Body) == "" && in.ToStep == nil && in.Priority == nil && len(fields) == 0 {
		add("body", "is required unless the macro sets a step or a priority")
	}
	if len(fields) > 0 {
		return in, apperr.WithFields(apperr.Unprocessable, "the macro has invalid fields", fields...)
	}
	return in, nil
}

// stepKeyPattern is the form of a process's step keys (as
// workflows.Definition.Validate checks them). Whether the step exists is for
// the ticket's process to say when the macro is applied: processes differ
// per category and change.
var stepKeyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

func validStepKey(s string) bool { return stepKeyPattern.MatchString(s) }

const macroColumns = `id::text, team_id::text, name, body, internal, to_step, priority, created_at, updated_at`

func scanMacro(row pgx.Row) (Macro, error) {
	var m Macro
	err := row.Scan(&m.ID, &m.TeamID, &m.Name, &m.Body, &m.Internal, &m.ToStep, &m.Priority, &m.CreatedAt, &m.UpdatedAt)
	return m, err
}

// CreateMacro stores a new macro of a team.
func (s *Store) CreateMacro(ctx context.Context, in MacroInput) (Macro, error) {
	in, err := in.check()
	if err != nil {
		return Macro{}, err
	}
	var m Macro
	err = postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := teamByID(ctx, tx, in.TeamID); err != nil {
			if apperr.Is(err, apperr.NotFound) {
				return apperr.WithFields(apperr.Unprocessable, "the macro has invalid fields",
					apperr.FieldError{Field: "team_id", Message: "no such team"})
			}
			return err
		}
		m, err = scanMacro(tx.QueryRow(ctx, `
			INSERT INTO macros (id, team_id, name, body, internal, to_step, priority)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			RETURNING `+macroColumns,
			uuid.NewString(), in.TeamID, in.Name, in.Body, in.Internal, in.ToStep, in.Priority))
		if postgres.IsUniqueViolation(err) {
			return errMacroNameDup
		}
		if err != nil {
			return fmt.Errorf("insert macro: %w", err)
		}
		return nil
	})
	return m, err
}

// Macro returns a macro by ID.
func (s *Store) Macro(ctx context.Context, id string) (Macro, error) {
	id, ok := canonicalID(id)
	if !ok {
		return Macro{}, errNoMacro
	}
	m, err := scanMacro(s.pool.QueryRow(ctx, `SELECT `+macroColumns+` FROM macros WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Macro{}, errNoMacro
	}
	if err != nil {
		return Macro{}, fmt.Errorf("read macro %s: %w", id, err)
	}
	return m, nil
}

// Macros returns macros by team and name: every team's when memberOf is
// "", else those of the teams the user is a member of. teamID, when not
// "", keeps one team's.
func (s *Store) Macros(ctx context.Context, memberOf, teamID string) ([]Macro, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+macroColumns+` FROM macros m
		WHERE ($1 = '' OR EXISTS (SELECT 1 FROM team_members tm WHERE tm.team_id = m.team_id AND tm.user_id::text = $1))
		  AND ($2 = '' OR m.team_id::text = $2)
		ORDER BY (SELECT t.name FROM teams t WHERE t.id = m.team_id), lower(m.name), m.id`, memberOf, teamID)
	if err != nil {
		return nil, fmt.Errorf("list macros: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Macro, error) { return scanMacro(row) })
	if err != nil {
		return nil, fmt.Errorf("list macros: %w", err)
	}
	return list, nil
}

// IsTeamMember reports whether the user is a member of the team.
func (s *Store) IsTeamMember(ctx context.Context, teamID, userID string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM team_members WHERE team_id::text = $1 AND user_id::text = $2)`,
		teamID, userID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("team membership of %s: %w", userID, err)
	}
	return ok, nil
}

// UpdateMacro replaces a macro's fields with in.
func (s *Store) UpdateMacro(ctx context.Context, id string, in MacroInput) (Macro, error) {
	id, ok := canonicalID(id)
	if !ok {
		return Macro{}, errNoMacro
	}
	in, err := in.check()
	if err != nil {
		return Macro{}, err
	}
	var m Macro
	err = postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := teamByID(ctx, tx, in.TeamID); err != nil {
			if apperr.Is(err, apperr.NotFound) {
				return apperr.WithFields(apperr.Unprocessable, "the macro has invalid fields",
					apperr.FieldError{Field: "team_id", Message: "no such team"})
			}
			return err
		}
		m, err = scanMacro(tx.QueryRow(ctx, `
			UPDATE macros SET team_id = $2, name = $3, body = $4, internal = $5, to_step = $6, priority = $7,
				updated_at = now()
			WHERE id = $1
			RETURNING `+macroColumns,
			id, in.TeamID, in.Name, in.Body, in.Internal, in.ToStep, in.Priority))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return errNoMacro
		case postgres.IsUniqueViolation(err):
			return errMacroNameDup
		case err != nil:
			return fmt.Errorf("update macro %s: %w", id, err)
		}
		return nil
	})
	return m, err
}

// DeleteMacro removes a macro.
func (s *Store) DeleteMacro(ctx context.Context, id string) error {
	id, ok := canonicalID(id)
	if !ok {
		return errNoMacro
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM macros WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete macro %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return errNoMacro
	}
	return nil
}

// macroContext is what the placeholders of a ticket's macros render from,
// as the workflow engine recorded it: the ticket's title and requester
// from the board, names from the user directory.
func (s *Store) macroContext(ctx context.Context, ticketID, agentID string) (TicketRow, PlaceholderValues, error) {
	id, ok := canonicalID(ticketID)
	if !ok {
		return TicketRow{}, PlaceholderValues{}, errNoTicket
	}
	t, err := scanTicketRow(s.pool.QueryRow(ctx, `SELECT `+ticketColumns+` FROM board_tickets WHERE ticket_id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return TicketRow{}, PlaceholderValues{}, errNoTicket
	}
	if err != nil {
		return TicketRow{}, PlaceholderValues{}, fmt.Errorf("read ticket %s: %w", id, err)
	}
	v := PlaceholderValues{TicketID: t.TicketID, TicketTitle: t.Title}
	err = s.pool.QueryRow(ctx, `
		SELECT coalesce((SELECT name FROM agents WHERE user_id::text = $1), ''),
		       coalesce((SELECT name FROM agents WHERE user_id::text = $2), '')`,
		t.RequesterID, agentID).Scan(&v.RequesterName, &v.AgentName)
	if err != nil {
		return TicketRow{}, PlaceholderValues{}, fmt.Errorf("read names for ticket %s: %w", id, err)
	}
	return t, v, nil
}
