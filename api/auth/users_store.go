package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// User is an account as the API shows it.
type User struct {
	ID        string     `json:"id"`
	Email     string     `json:"email"`
	Name      string     `json:"name"`
	Role      authn.Role `json:"role"`
	Active    bool       `json:"active"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

const userColumns = `id, email, name, role, active, created_at, updated_at`

func scanUser(row pgx.Row) (User, error) {
	var u User
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Active, &u.CreatedAt, &u.UpdatedAt)
	return u, err
}

// errEmailTaken is returned when an e-mail is already registered.
var errEmailTaken = apperr.New(apperr.Conflict, "an account with this e-mail already exists")

func insertUser(ctx context.Context, q postgres.Querier, id, email, name string, role authn.Role, passwordHash *string) (User, error) {
	u, err := scanUser(q.QueryRow(ctx, `
		INSERT INTO users (id, email, name, role, password_hash)
		VALUES ($1, $2, $3, $4, $5)
		RETURNING `+userColumns, id, email, name, role, passwordHash))
	if postgres.IsUniqueViolation(err) {
		return User{}, errEmailTaken
	}
	if err != nil {
		return User{}, fmt.Errorf("insert user: %w", err)
	}
	return u, nil
}

func userByID(ctx context.Context, q postgres.Querier, id string, forUpdate bool) (User, error) {
	sql := `SELECT ` + userColumns + ` FROM users WHERE id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	u, err := scanUser(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, apperr.New(apperr.NotFound, "no such user")
	}
	if err != nil {
		return User{}, fmt.Errorf("read user %s: %w", id, err)
	}
	return u, nil
}

// credentials are what login needs of an account.
type credentials struct {
	User
	PasswordHash *string
}

func credentialsByEmail(ctx context.Context, q postgres.Querier, email string) (credentials, bool, error) {
	var c credentials
	err := q.QueryRow(ctx, `SELECT `+userColumns+`, password_hash FROM users WHERE email = $1`, email).
		Scan(&c.ID, &c.Email, &c.Name, &c.Role, &c.Active, &c.CreatedAt, &c.UpdatedAt, &c.PasswordHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return credentials{}, false, nil
	}
	if err != nil {
		return credentials{}, false, fmt.Errorf("read credentials: %w", err)
	}
	return c, true, nil
}

func updateUser(ctx context.Context, q postgres.Querier, u User) (User, error) {
	u, err := scanUser(q.QueryRow(ctx, `
		UPDATE users SET role = $2, active = $3, name = $4, updated_at = now()
		WHERE id = $1
		RETURNING `+userColumns, u.ID, u.Role, u.Active, u.Name))
	if err != nil {
		return User{}, fmt.Errorf("update user %s: %w", u.ID, err)
	}
	return u, nil
}

// userPosition is where a page of the user list ends.
type userPosition struct {
	Created time.Time `json:"c"`
	ID      string    `json:"i"`
}

// UserFilter narrows the admin's user list.
type UserFilter struct {
	Query  string // substring of e-mail or name
	Role   authn.Role
	Active *bool
	After  *userPosition
	Limit  int
}

func listUsers(ctx context.Context, q postgres.Querier, f UserFilter) ([]User, error) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Query != "" {
		p := arg("%" + escapeLike(strings.ToLower(f.Query)) + "%")
		where = append(where, fmt.Sprintf("(email LIKE %s OR lower(name) LIKE %s)", p, p))
	}
	if f.Role != "" {
		where = append(where, "role = "+arg(f.Role))
	}
	if f.Active != nil {
		where = append(where, "active = "+arg(*f.Active))
	}
	if f.After != nil {
		where = append(where, fmt.Sprintf("(created_at, id) > (%s, %s)", arg(f.After.Created), arg(f.After.ID)))
	}
	sql := `SELECT ` + userColumns + ` FROM users`
	if len(where) > 0 {
		sql += ` WHERE ` + strings.Join(where, " AND ")
	}
	sql += ` ORDER BY created_at, id LIMIT ` + arg(f.Limit)
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// escapeLike makes s match literally inside a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
