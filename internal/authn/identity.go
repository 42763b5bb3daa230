// Package authn verifies Ticketflow access tokens and carries the caller's
// identity through a request.
//
// The auth service signs access tokens with Ed25519 (JWS alg EdDSA) and
// publishes its public keys as a JWK set at /auth/.well-known/jwks.json.
// Every other service verifies tokens locally with a [Verifier], which caches
// that key set, and guards its routes with [Verifier.Middleware] and
// [RequireRole]. Services calling each other authenticate with a service token
// from a [ServiceTokenSource], usually through a [Transport].
package authn

import (
	"context"

	"github.com/ticketflow/ticketflow/internal/apperr"
)

// Role is what a caller may do. Humans are employees, agents or admins;
// other Ticketflow services act with RoleService.
type Role string

// The roles a token may carry.
const (
	RoleEmployee Role = "employee" // opens tickets and follows their own
	RoleAgent    Role = "agent"    // works on tickets
	RoleAdmin    Role = "admin"    // configures the system; everything an agent may do
	RoleService  Role = "service"  // another Ticketflow service, never a person
)

// Valid reports whether r is one of the human roles. RoleService is not
// valid here because no user account may ever be given it.
func (r Role) Valid() bool {
	switch r {
	case RoleEmployee, RoleAgent, RoleAdmin:
		return true
	}
	return false
}

// ParseRole returns the human role named s. It fails with an Unprocessable
// *apperr.Error for anything else, RoleService included, so it can check a
// role taken from a request as it stands.
func ParseRole(s string) (Role, error) {
	if r := Role(s); r.Valid() {
		return r, nil
	}
	return "", apperr.New(apperr.Unprocessable, "role must be one of employee, agent, admin")
}

// User is the verified caller of a request.
type User struct {
	// ID is the token's subject: a user ID, or a client ID for a service.
	ID string
	// Role is the role the token was issued with.
	Role Role
	// TokenID is the token's jti, empty when the token has none.
	TokenID string
}

// IsStaff reports whether u works tickets: an agent or an admin.
func (u User) IsStaff() bool { return u.Role == RoleAgent || u.Role == RoleAdmin }

// IsService reports whether u is another Ticketflow service rather than a person.
func (u User) IsService() bool { return u.Role == RoleService }

type userKey struct{}

// WithUser returns a context carrying u. Middleware does this for every
// authenticated request; tests and in-process callers use it directly.
func WithUser(ctx context.Context, u User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the user carried by ctx and whether there is one.
func UserFrom(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}

// MustUser returns the user carried by ctx. It panics when there is none,
// which is a wiring bug: call it only in handlers behind
// [Verifier.Middleware] (or after [WithUser]).
func MustUser(ctx context.Context) User {
	u, ok := UserFrom(ctx)
	if !ok {
		panic("authn: no user in context; is the handler behind Verifier.Middleware?")
	}
	return u
}
