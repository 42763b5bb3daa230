package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/postgres"
	"github.com/ticketflow/ticketflow/workflows"
)

// Team is a team as the API shows it: the agents who handle the tickets of
// the categories whose definitions name it, and its business hours.
type Team struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Calendar is the team's business hours, nil when it has none (SLA
	// clocks then count around the clock).
	Calendar *workflows.Calendar `json:"calendar"`
	Members  []Member            `json:"members"`
	// Strategy is how the team picks the agent of a new ticket:
	// StrategyRoundRobin or StrategyFewestOpen.
	Strategy string `json:"strategy"`
	// LeadID is the team's lead, one of its members, nil when it has none.
	// The lead hears of every SLA breach of the team's tickets and takes
	// them when the category's process escalates to the team lead. A lead
	// who leaves the team is no longer its lead.
	LeadID *string `json:"lead_id"`
}

// Member is one member of a team.
type Member struct {
	UserID string `json:"user_id"`
	Name   string `json:"name"`
	// Available is the member's own switch: unavailable members get no
	// new tickets.
	Available bool `json:"available"`
	// Assignable is false once the directory no longer lists the member as
	// an active agent or admin: they get no tickets whatever Available says.
	Assignable bool `json:"assignable"`
	// Capacity is the most open tickets the member is given
	// automatically; nil for no limit.
	Capacity *int `json:"capacity"`
	// OpenTickets is the member's workload: their tickets, in any team,
	// neither resolved nor closed.
	OpenTickets int `json:"open_tickets"`
}

// MemberChange is what adding or updating a member did.
type MemberChange struct {
	Member Member
	// Added is true when the user was not a member before.
	Added bool
	// BecameAvailable is true when the member is available now and was not
	// (or was no member) before: waiting tickets may now be assigned.
	BecameAvailable bool
}

// TeamPatch changes some of a team's fields.
type TeamPatch struct {
	// Name, when not nil, renames the team.
	Name *string
	// SetCalendar replaces the team's calendar with Calendar; a nil
	// Calendar removes it.
	SetCalendar bool
	Calendar    *workflows.Calendar
	// Strategy, when not nil, changes how the team picks agents.
	Strategy *string
	// SetLead replaces the team's lead with LeadID, a member of the team
	// who is an active agent or admin; an empty LeadID removes the lead.
	SetLead bool
	LeadID  string
}

// assignableSQL is true for a directory entry (alias a) that may be given
// tickets: an active agent or admin.
const assignableSQL = `(a.active AND a.role IN ('agent', 'admin'))`

const maxTeamName = 100

// teamColumns are the columns of teams that scanTeam reads.
const teamColumns = `id, name, calendar, lead_id`

var (
	errNoTeam      = apperr.New(apperr.NotFound, "no such team")
	errNoMember    = apperr.New(apperr.NotFound, "no such team member")
	errTeamNameDup = apperr.New(apperr.Conflict, "a team with this name already exists")
)

// checkTeam validates a team's name and calendar and returns the name as
// stored: trimmed.
func checkTeam(name string, cal *workflows.Calendar) (string, error) {
	name = strings.TrimSpace(name)
	var problems []apperr.FieldError
	if name == "" || utf8.RuneCountInString(name) > maxTeamName {
		problems = append(problems, apperr.FieldError{Field: "name", Message: fmt.Sprintf("must be 1-%d characters", maxTeamName)})
	}
	if cal != nil {
		problems = append(problems, prefixFields("calendar.", cal.Validate())...)
	}
	if len(problems) > 0 {
		return "", apperr.WithFields(apperr.Unprocessable, "the team is invalid", problems...)
	}
	return name, nil
}

// prefixFields returns the field errors of err, an Unprocessable error from
// a Validate method, with their field names under prefix.
func prefixFields(prefix string, err error) []apperr.FieldError {
	if err == nil {
		return nil
	}
	var e *apperr.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return []apperr.FieldError{{Field: strings.TrimSuffix(prefix, "."), Message: err.Error()}}
	}
	out := make([]apperr.FieldError, len(e.Fields))
	for i, f := range e.Fields {
		out[i] = apperr.FieldError{Field: prefix + f.Field, Message: f.Message}
	}
	return out
}

// CreateTeam creates a team with no members and its round-robin cursor.
// The name is unique whatever its case (Conflict otherwise).
func (s *Store) CreateTeam(ctx context.Context, name string, cal *workflows.Calendar) (Team, error) {
	return s.CreateTeamWithLead(ctx, name, cal, "")
}

// CreateTeamWithLead creates a team as CreateTeam does; a non-empty leadID,
// who must be an active agent or admin (Unprocessable otherwise, and
// nothing is created), becomes its first member, available, and its lead.
func (s *Store) CreateTeamWithLead(ctx context.Context, name string, cal *workflows.Calendar, leadID string) (Team, error) {
	name, err := checkTeam(name, cal)
	if err != nil {
		return Team{}, err
	}
	if leadID != "" {
		id, ok := canonicalID(leadID)
		if !ok {
			return Team{}, errBadLead
		}
		leadID = id
	}
	calJSON, err := calendarJSON(cal)
	if err != nil {
		return Team{}, err
	}
	id := uuid.NewString()
	err = postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if leadID != "" {
			ok, err := isAssignable(ctx, tx, leadID)
			if err != nil {
				return err
			}
			if !ok {
				return errLeadNotStaff
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO teams (id, name, calendar) VALUES ($1, $2, $3)`, id, name, calJSON); err != nil {
			if postgres.IsUniqueViolation(err) {
				return errTeamNameDup
			}
			return fmt.Errorf("insert team: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO team_cursors (team_id) VALUES ($1)`, id); err != nil {
			return fmt.Errorf("insert cursor of team %s: %w", id, err)
		}
		if leadID == "" {
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO team_members (team_id, user_id, available) VALUES ($1, $2, true)`, id, leadID); err != nil {
			return fmt.Errorf("add lead %s to team %s: %w", leadID, id, err)
		}
		return setLead(ctx, tx, id, leadID)
	})
	if err != nil {
		return Team{}, err
	}
	if leadID == "" {
		return Team{ID: id, Name: name, Calendar: cal, Members: []Member{}, Strategy: StrategyRoundRobin}, nil
	}
	return s.Team(ctx, id)
}

// Team returns a team with its members (NotFound for an unknown or
// malformed ID).
func (s *Store) Team(ctx context.Context, id string) (Team, error) {
	return teamByID(ctx, s.pool, id)
}

// Teams returns every team with its members, by name.
func (s *Store) Teams(ctx context.Context) ([]Team, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+teamColumns+` FROM teams ORDER BY lower(name), id`)
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	teams, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Team, error) { return scanTeam(r) })
	if err != nil {
		return nil, fmt.Errorf("list teams: %w", err)
	}
	ids := make([]string, len(teams))
	for i, t := range teams {
		ids[i] = t.ID
	}
	members, err := membersOf(ctx, s.pool, ids)
	if err != nil {
		return nil, err
	}
	for i := range teams {
		teams[i].Members = orEmpty(members[teams[i].ID])
	}
	if err := fillStrategies(ctx, s.pool, teams); err != nil {
		return nil, err
	}
	return teams, nil
}

// UpdateTeam renames a team or changes its calendar, strategy or lead. A
// change that is invalid (Unprocessable) writes nothing.
func (s *Store) UpdateTeam(ctx context.Context, id string, p TeamPatch) (Team, error) {
	id, ok := canonicalID(id)
	if !ok {
		return Team{}, errNoTeam
	}
	var t Team
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if t, err = scanTeam(tx.QueryRow(ctx, `SELECT `+teamColumns+` FROM teams WHERE id = $1 FOR UPDATE`, id)); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return errNoTeam
			}
			return fmt.Errorf("read team %s: %w", id, err)
		}
		if p.Name != nil {
			t.Name = *p.Name
		}
		if p.SetCalendar {
			t.Calendar = p.Calendar
		}
		if t.Name, err = checkTeam(t.Name, t.Calendar); err != nil {
			return err
		}
		if p.SetLead {
			if err := changeLead(ctx, tx, id, p.LeadID); err != nil {
				return err
			}
		}
		if p.Strategy != nil {
			if err := checkStrategy(*p.Strategy); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE teams SET strategy = $2 WHERE id = $1`, id, *p.Strategy); err != nil {
				return fmt.Errorf("update strategy of team %s: %w", id, err)
			}
		}
		calJSON, err := calendarJSON(t.Calendar)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE teams SET name = $2, calendar = $3, updated_at = now() WHERE id = $1`, id, t.Name, calJSON)
		if postgres.IsUniqueViolation(err) {
			return errTeamNameDup
		}
		if err != nil {
			return fmt.Errorf("update team %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return Team{}, err
	}
	return s.Team(ctx, id)
}

// TeamCalendar returns the business hours of a team, nil when it has none
// or teamID is empty (NotFound for an unknown team).
func (s *Store) TeamCalendar(ctx context.Context, teamID string) (*workflows.Calendar, error) {
	if teamID == "" {
		return nil, nil
	}
	id, ok := canonicalID(teamID)
	if !ok {
		return nil, errNoTeam
	}
	var raw []byte
	err := s.pool.QueryRow(ctx, `SELECT calendar FROM teams WHERE id = $1`, id).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoTeam
	}
	if err != nil {
		return nil, fmt.Errorf("read calendar of team %s: %w", id, err)
	}
	return decodeCalendar(raw)
}

// AddOrUpdateMember makes the user a member of the team with the given
// availability. A user who is not yet a member must be an active agent or
// admin in the directory (Unprocessable otherwise).
func (s *Store) AddOrUpdateMember(ctx context.Context, teamID, userID string, available bool) (MemberChange, error) {
	return s.setMember(ctx, teamID, userID, available, true)
}

// SetAvailability changes the availability of an existing member
// (NotFound when the user is not a member of the team).
func (s *Store) SetAvailability(ctx context.Context, teamID, userID string, available bool) (MemberChange, error) {
	return s.setMember(ctx, teamID, userID, available, false)
}

func (s *Store) setMember(ctx context.Context, teamID, userID string, available, mayAdd bool) (MemberChange, error) {
	teamID, ok := canonicalID(teamID)
	if !ok {
		return MemberChange{}, errNoTeam
	}
	userID, ok = canonicalID(userID)
	if !ok {
		return MemberChange{}, errNoMember
	}
	var change MemberChange
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		// Locks the team against concurrent changes of the same member
		// so BecameAvailable is told once.
		if err := tx.QueryRow(ctx, `SELECT id FROM teams WHERE id = $1 FOR NO KEY UPDATE`, teamID).Scan(new(string)); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return errNoTeam
			}
			return fmt.Errorf("read team %s: %w", teamID, err)
		}
		var wasAvailable bool
		err := tx.QueryRow(ctx, `SELECT available FROM team_members WHERE team_id = $1 AND user_id = $2`, teamID, userID).Scan(&wasAvailable)
		member := err == nil
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read member %s of team %s: %w", userID, teamID, err)
		}
		if !member {
			if !mayAdd {
				return errNoMember
			}
			ok, err := isAssignable(ctx, tx, userID)
			if err != nil {
				return err
			}
			if !ok {
				return apperr.WithFields(apperr.Unprocessable, "only active agents and admins can be team members",
					apperr.FieldError{Field: "user_id", Message: "is not an active agent or admin"})
			}
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO team_members (team_id, user_id, available) VALUES ($1, $2, $3)
			ON CONFLICT (team_id, user_id) DO UPDATE SET available = EXCLUDED.available, updated_at = now()`,
			teamID, userID, available); err != nil {
			return fmt.Errorf("save member %s of team %s: %w", userID, teamID, err)
		}
		change.Added = !member
		change.BecameAvailable = available && (!member || !wasAvailable)
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
		return MemberChange{}, err
	}
	return change, nil
}

// RemoveMember takes the user out of the team (NotFound when not a
// member). Tickets already assigned to them stay so. A lead who leaves
// the team is no longer its lead (the key of teams.lead_id clears it).
func (s *Store) RemoveMember(ctx context.Context, teamID, userID string) error {
	teamID, ok := canonicalID(teamID)
	if !ok {
		return errNoTeam
	}
	userID, ok = canonicalID(userID)
	if !ok {
		return errNoMember
	}
	return postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		// The team first, as UpdateTeam locks it, so that removing its lead
		// (which clears teams.lead_id) and naming them lead take turns.
		if err := tx.QueryRow(ctx, `SELECT id FROM teams WHERE id = $1 FOR NO KEY UPDATE`, teamID).Scan(new(string)); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return errNoTeam
			}
			return fmt.Errorf("read team %s: %w", teamID, err)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM team_members WHERE team_id = $1 AND user_id = $2`, teamID, userID)
		if err != nil {
			return fmt.Errorf("remove member %s of team %s: %w", userID, teamID, err)
		}
		if tag.RowsAffected() == 0 {
			return errNoMember
		}
		return nil
	})
}

var (
	errBadLead = apperr.WithFields(apperr.Unprocessable, "the team lead is invalid",
		apperr.FieldError{Field: "lead_id", Message: "must be the ID of a member of the team, or null"})
	errLeadNotMember = apperr.WithFields(apperr.Unprocessable, "the team lead must be a member of the team",
		apperr.FieldError{Field: "lead_id", Message: "is not a member of the team"})
	errLeadNotStaff = apperr.WithFields(apperr.Unprocessable, "the team lead must be an active agent or admin",
		apperr.FieldError{Field: "lead_id", Message: "is not an active agent or admin"})
)

// changeLead makes leadID the lead of the team, whose row the caller has
// locked; "" removes the lead. The lead must be a member of the team and
// an active agent or admin.
func changeLead(ctx context.Context, tx pgx.Tx, teamID, leadID string) error {
	if leadID == "" {
		return setLead(ctx, tx, teamID, "")
	}
	id, ok := canonicalID(leadID)
	if !ok {
		return errBadLead
	}
	var staff bool
	err := tx.QueryRow(ctx, `
		SELECT `+assignableSQL+` FROM team_members m JOIN agents a ON a.user_id = m.user_id
		WHERE m.team_id = $1 AND m.user_id = $2`, teamID, id).Scan(&staff)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return errLeadNotMember
	case err != nil:
		return fmt.Errorf("read member %s of team %s: %w", id, teamID, err)
	case !staff:
		return errLeadNotStaff
	}
	return setLead(ctx, tx, teamID, id)
}

// setLead writes the team's lead; "" for none.
func setLead(ctx context.Context, tx pgx.Tx, teamID, leadID string) error {
	var lead *string
	if leadID != "" {
		lead = &leadID
	}
	_, err := tx.Exec(ctx, `UPDATE teams SET lead_id = $2, updated_at = now() WHERE id = $1`, teamID, lead)
	if postgres.ConstraintOf(err) == "teams_lead_member_fkey" {
		return errLeadNotMember
	}
	if err != nil {
		return fmt.Errorf("set lead of team %s: %w", teamID, err)
	}
	return nil
}

// Escalation tells where a breached ticket escalates to: the escalation
// chain of the definition the run follows, the lead of the ticket's team
// and whether they can take it now (an available member who is an active
// agent or admin; their capacity does not count, an escalation is not
// round-robin), and the escalation team's business hours. IDs that are
// not UUIDs, or name nothing, find nothing.
func (s *Store) Escalation(ctx context.Context, in workflows.LoadEscalationInput) (workflows.LoadEscalationResult, error) {
	var res workflows.LoadEscalationResult
	if cid, ok := canonicalID(in.CategoryID); ok && in.DefinitionVersion > 0 {
		err := s.pool.QueryRow(ctx, `
			SELECT coalesce(body->>'escalation', '') FROM definitions WHERE category_id = $1 AND version = $2`,
			cid, in.DefinitionVersion).Scan(&res.Chain)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return res, fmt.Errorf("read escalation of category %s: %w", cid, err)
		}
	}
	if tid, ok := canonicalID(in.TeamID); ok {
		var lead *string
		err := s.pool.QueryRow(ctx, `
			SELECT t.lead_id::text, coalesce(m.available AND `+assignableSQL+`, false)
			FROM teams t
			LEFT JOIN team_members m ON m.team_id = t.id AND m.user_id = t.lead_id
			LEFT JOIN agents a ON a.user_id = t.lead_id
			WHERE t.id = $1`, tid).Scan(&lead, &res.LeadAvailable)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return res, fmt.Errorf("read lead of team %s: %w", tid, err)
		}
		if lead != nil {
			res.TeamLeadID = *lead
		}
	}
	if eid, ok := canonicalID(in.EscalationTeamID); ok {
		cal, err := s.TeamCalendar(ctx, eid)
		if err != nil && !errors.Is(err, errNoTeam) {
			return res, err
		}
		res.EscalationCalendar = cal
	}
	return res, nil
}

// missingTeams returns those of ids that name no team. Run in a
// transaction, it locks the teams found (FOR KEY SHARE) until it ends, so
// that DeleteTeam, which locks the team's row for update, waits for a
// definition being saved with them and then sees it.
func missingTeams(ctx context.Context, q postgres.Querier, ids []string) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT id::text FROM teams WHERE id = ANY($1::uuid[]) FOR KEY SHARE`, ids)
	if err != nil {
		return nil, fmt.Errorf("find teams: %w", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("find teams: %w", err)
	}
	var missing []string
	for _, id := range ids {
		if !slices.Contains(found, id) {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

func teamByID(ctx context.Context, q postgres.Querier, id string) (Team, error) {
	id, ok := canonicalID(id)
	if !ok {
		return Team{}, errNoTeam
	}
	t, err := scanTeam(q.QueryRow(ctx, `SELECT `+teamColumns+` FROM teams WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Team{}, errNoTeam
	}
	if err != nil {
		return Team{}, fmt.Errorf("read team %s: %w", id, err)
	}
	members, err := membersOf(ctx, q, []string{id})
	if err != nil {
		return Team{}, err
	}
	t.Members = orEmpty(members[id])
	teams := []Team{t}
	if err := fillStrategies(ctx, q, teams); err != nil {
		return Team{}, err
	}
	return teams[0], nil
}

func scanTeam(row pgx.Row) (Team, error) {
	var (
		t   Team
		raw []byte
	)
	if err := row.Scan(&t.ID, &t.Name, &raw, &t.LeadID); err != nil {
		return Team{}, err
	}
	cal, err := decodeCalendar(raw)
	if err != nil {
		return Team{}, err
	}
	t.Calendar = cal
	t.Members = []Member{}
	return t, nil
}

// membersOf returns the members of the given teams by team ID, by name.
func membersOf(ctx context.Context, q postgres.Querier, teamIDs []string) (map[string][]Member, error) {
	rows, err := q.Query(ctx, `
		SELECT m.team_id::text, m.user_id::text, a.name, m.available, `+assignableSQL+`,
			m.capacity, (SELECT count(*) FROM open_tickets o WHERE o.agent_id = m.user_id)
		FROM team_members m JOIN agents a ON a.user_id = m.user_id
		WHERE m.team_id = ANY($1::uuid[])
		ORDER BY lower(a.name), m.user_id`, teamIDs)
	if err != nil {
		return nil, fmt.Errorf("list team members: %w", err)
	}
	defer rows.Close()
	out := map[string][]Member{}
	for rows.Next() {
		var (
			teamID string
			m      Member
		)
		if err := rows.Scan(&teamID, &m.UserID, &m.Name, &m.Available, &m.Assignable, &m.Capacity, &m.OpenTickets); err != nil {
			return nil, fmt.Errorf("list team members: %w", err)
		}
		out[teamID] = append(out[teamID], m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list team members: %w", err)
	}
	return out, nil
}

func calendarJSON(cal *workflows.Calendar) ([]byte, error) {
	if cal == nil {
		return nil, nil
	}
	b, err := json.Marshal(cal)
	if err != nil {
		return nil, fmt.Errorf("encode calendar: %w", err)
	}
	return b, nil
}

func decodeCalendar(raw []byte) (*workflows.Calendar, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var cal workflows.Calendar
	if err := json.Unmarshal(raw, &cal); err != nil {
		return nil, fmt.Errorf("decode calendar: %w", err)
	}
	return &cal, nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// DeleteTeam deletes a team together with its members, its round-robin
// cursor and its macros (NotFound for an unknown or malformed ID). A team
// that running tickets may still need is kept, and the Conflict says what
// needs it:
//   - the latest process definition of a category names it (team_id or
//     escalation_team_id): new tickets of the category would go to it;
//   - an older version names it while the category has tickets that are
//     not closed: a run keeps the definition it started with (and carries
//     it in its state), so such a ticket may still be assigned or
//     escalated to the team. Closed tickets no longer matter, so the team
//     can go once they are;
//   - tickets that are not closed are with the team (the board's team_id)
//     or wait for one of its agents.
//
// The team's row is locked first: a definition being saved locks the
// teams it names (missingTeams), so a save and a deletion take turns and
// no saved definition names a deleted team.
func (s *Store) DeleteTeam(ctx context.Context, id string) error {
	id, ok := canonicalID(id)
	if !ok {
		return errNoTeam
	}
	return postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var name string
		err := tx.QueryRow(ctx, `SELECT name FROM teams WHERE id = $1 FOR UPDATE`, id).Scan(&name)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoTeam
		}
		if err != nil {
			return fmt.Errorf("read team %s: %w", id, err)
		}
		uses, err := teamUses(ctx, tx, id)
		if err != nil {
			return err
		}
		if len(uses) > 0 {
			return apperr.New(apperr.Conflict, "team %q is still in use and was not deleted: %s", name, strings.Join(uses, "; "))
		}
		// Members (and so the lead), the cursor and macros go with the
		// team (ON DELETE CASCADE).
		if _, err := tx.Exec(ctx, `DELETE FROM teams WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete team %s: %w", id, err)
		}
		return nil
	})
}

// teamUses returns, in words, what still needs the team (see DeleteTeam);
// none when it may go.
func teamUses(ctx context.Context, tx pgx.Tx, id string) ([]string, error) {
	var uses []string
	// Every category with a version naming the team: whether its latest
	// version does (and as what), and how many of its tickets are not
	// closed.
	rows, err := tx.Query(ctx, `
		WITH latest AS (
			SELECT category_id, max(version) AS version FROM definitions GROUP BY category_id
		), naming AS (
			SELECT DISTINCT category_id FROM definitions
			WHERE body->>'team_id' = $1 OR body->>'escalation_team_id' = $1
		)
		SELECT n.category_id::text, l.version,
			coalesce(d.body->>'team_id' = $1, false), coalesce(d.body->>'escalation_team_id' = $1, false),
			(SELECT count(*) FROM board_tickets b WHERE b.category_id = n.category_id AND b.status <> $2)
		FROM naming n
		JOIN latest l ON l.category_id = n.category_id
		JOIN definitions d ON d.category_id = l.category_id AND d.version = l.version
		ORDER BY n.category_id`, id, workflows.StatusClosed)
	if err != nil {
		return nil, fmt.Errorf("find definitions naming team %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			category       string
			version        int
			team, escalate bool
			open           int64
		)
		if err := rows.Scan(&category, &version, &team, &escalate, &open); err != nil {
			return nil, fmt.Errorf("find definitions naming team %s: %w", id, err)
		}
		// A definition never names one team as both (Validate).
		switch {
		case team:
			uses = append(uses, fmt.Sprintf("the current process of category %s (version %d) names it as its team", category, version))
		case escalate:
			uses = append(uses, fmt.Sprintf("the current process of category %s (version %d) names it as its escalation team", category, version))
		case open > 0:
			uses = append(uses, fmt.Sprintf("an earlier process of category %s names it, and %s of the category that may still follow it %s not closed",
				category, plural(open, "ticket"), isAre(open)))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find definitions naming team %s: %w", id, err)
	}
	var with int64
	if err := tx.QueryRow(ctx, `
		SELECT count(*) FROM (
			SELECT ticket_id FROM board_tickets WHERE team_id = $1 AND status <> $2
			UNION
			SELECT ticket_id FROM waiting WHERE team_id = $1
		) t`, id, workflows.StatusClosed).Scan(&with); err != nil {
		return nil, fmt.Errorf("count tickets of team %s: %w", id, err)
	}
	if with > 0 {
		uses = append(uses, fmt.Sprintf("%s not closed %s with it", plural(with, "ticket"), isAre(with)))
	}
	return uses, nil
}

func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func isAre(n int64) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
