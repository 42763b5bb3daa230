package notification

import (
	"cmp"
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// Preferences are a user's notification settings. In-app notifications
// always come; Email says, per kind, whether it also comes by e-mail. A
// kind nobody set is on.
type Preferences struct {
	Email map[Kind]bool `json:"email"`
}

// Preferences returns userID's settings, every kind listed.
func (s *Service) Preferences(ctx context.Context, userID string) (Preferences, error) {
	set := map[Kind]bool{}
	if validID(userID) {
		var err error
		if set, err = emailPreferences(ctx, s.pool, userID); err != nil {
			return Preferences{}, err
		}
	}
	return withDefaults(set), nil
}

// SetPreferences changes the kinds p names and leaves the others as they
// were; it returns the settings after the change. An unknown kind is
// rejected with nothing changed.
func (s *Service) SetPreferences(ctx context.Context, userID string, p Preferences) (Preferences, error) {
	if p.Email == nil {
		return Preferences{}, apperr.WithFields(apperr.Unprocessable, "the request has invalid fields",
			apperr.FieldError{Field: "email", Message: "is required"})
	}
	var bad []apperr.FieldError
	for kind := range p.Email {
		if !kind.Valid() {
			bad = append(bad, apperr.FieldError{Field: "email." + string(kind), Message: "is not a kind of notification"})
		}
	}
	if len(bad) > 0 {
		slices.SortFunc(bad, func(a, b apperr.FieldError) int { return cmp.Compare(a.Field, b.Field) })
		return Preferences{}, apperr.WithFields(apperr.Unprocessable, "the request has invalid fields", bad...)
	}
	if !validID(userID) {
		return Preferences{}, apperr.New(apperr.Forbidden, "only people have notification settings")
	}
	var set map[Kind]bool
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := setEmailPreferences(ctx, tx, userID, p.Email); err != nil {
			return err
		}
		var err error
		set, err = emailPreferences(ctx, tx, userID)
		return err
	})
	if err != nil {
		return Preferences{}, err
	}
	return withDefaults(set), nil
}

// withDefaults lists every kind, on unless set off.
func withDefaults(set map[Kind]bool) Preferences {
	p := Preferences{Email: make(map[Kind]bool, len(Kinds()))}
	for _, k := range Kinds() {
		on, ok := set[k]
		p.Email[k] = on || !ok
	}
	return p
}
