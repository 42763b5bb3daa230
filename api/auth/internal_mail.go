package auth

import (
	"context"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/logging"
)

// MailSender is the account of an e-mail's sender, as mail-in asks for it.
type MailSender struct {
	User
	// Created is true when the account was made by this request.
	Created bool `json:"created"`
}

// maxSenderNameRunes bounds the name taken from an e-mail's From field.
const maxSenderNameRunes = 100

// SenderAccount returns the account of the e-mail address, making an
// employee account without a password when there is none: the sender of a
// first e-mail becomes a requester, and may claim the account later by
// setting a password. Idempotent: a second call, or a concurrent one,
// returns the same account. A deactivated account is returned as it is;
// the caller refuses its mail.
func (s *Service) SenderAccount(ctx context.Context, email, name string) (MailSender, error) {
	email = NormalizeEmail(email)
	if !validEmail(email) {
		return MailSender{}, apperr.WithFields(apperr.Unprocessable, "the request has invalid fields", apperr.FieldError{Field: "email", Message: "must be an e-mail address"})
	}
	name = strings.Join(strings.Fields(strings.ToValidUTF8(name, "")), " ")
	if utf8.RuneCountInString(name) > maxSenderNameRunes {
		name = string([]rune(name)[:maxSenderNameRunes])
	}
	if name == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	for range 2 {
		c, found, err := credentialsByEmail(ctx, s.pool, email)
		if err != nil {
			return MailSender{}, err
		}
		if found {
			return MailSender{User: c.User}, nil
		}
		var u User
		err = s.events.InTx(ctx, func(tx pgx.Tx) error {
			if u, err = insertUser(ctx, tx, uuid.NewString(), email, name, authn.RoleEmployee, nil); err != nil {
				return err
			}
			return publishUser(ctx, tx, events.UserCreated, u)
		})
		if apperr.Is(err, apperr.Conflict) {
			continue // made concurrently: read it
		}
		if err != nil {
			return MailSender{}, err
		}
		logging.FromContext(ctx, s.log).Info("account made for an e-mail sender", "user_id", u.ID)
		return MailSender{User: u, Created: true}, nil
	}
	return MailSender{}, apperr.New(apperr.Conflict, "the account changed meanwhile; try again")
}

// mailSender is mail-in asking for the account of an e-mail's sender.
func (h *Handler) mailSender(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.svc.SenderAccount(r.Context(), in.Email, in.Name)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if u.Created {
		status = http.StatusCreated
	}
	httpx.JSON(w, status, u)
}
