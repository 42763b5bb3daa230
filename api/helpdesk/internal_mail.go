package helpdesk

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/logging"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// MailTicket is a ticket opened by an e-mail, as mail-in asks for it. ID
// is chosen by mail-in (derived from the message), which makes the
// request idempotent: asking again returns the ticket made the first time.
type MailTicket struct {
	ID          string `json:"id"`
	RequesterID string `json:"requester_id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// CategoryID is the category mapped from the receiving address; empty,
	// unknown or inactive means the default category (the oldest active).
	CategoryID string `json:"category_id"`
}

// errNoDefaultCategory answers a mail ticket when no category is active.
var errNoDefaultCategory = apperr.New(apperr.Unprocessable, "no active category to file the e-mail's ticket in")

// CreateMailTicket opens the ticket of an e-mail for its requester, like
// CreateTicket, with the ID mail-in chose. A ticket of that ID opened
// before is returned as it is (created false); one of another requester
// is a Conflict.
func (s *Service) CreateMailTicket(ctx context.Context, in MailTicket) (Ticket, bool, error) {
	var f fieldErrors
	f.checkUUID("id", in.ID)
	f.checkUUID("requester_id", in.RequesterID)
	if in.CategoryID != "" {
		f.checkUUID("category_id", in.CategoryID)
	}
	nt := NewTicket{Title: in.Title, Description: in.Description, CategoryID: "00000000-0000-0000-0000-000000000000"}
	nt.normalize()
	if err := nt.validate(); err != nil {
		return Ticket{}, false, err
	}
	if err := f.err(apperr.Unprocessable, "the request has invalid fields"); err != nil {
		return Ticket{}, false, err
	}
	var (
		t       Ticket
		created bool
	)
	err := s.events.InTx(ctx, func(tx pgx.Tx) error {
		existing, err := ticketByID(ctx, tx, in.ID, false)
		if err == nil {
			if existing.RequesterID != in.RequesterID {
				return apperr.New(apperr.Conflict, "ticket %s exists with another requester", in.ID)
			}
			t = existing
			return nil
		}
		if !apperr.Is(err, apperr.NotFound) {
			return err
		}
		if nt.CategoryID, err = s.mailCategory(ctx, tx, in.CategoryID); err != nil {
			return err
		}
		if t, err = insertTicket(ctx, tx, in.ID, in.RequesterID, nt); err != nil {
			return err
		}
		created = true
		return publish(ctx, tx, events.TicketCreated, t.ID, TicketCreated{Ticket: t, Channel: ChannelEmail})
	})
	if err != nil {
		return Ticket{}, false, err
	}
	if created {
		logging.FromContext(ctx, s.log).Info("ticket created from an e-mail", "ticket_id", t.ID, "category_id", t.CategoryID, "user_id", t.RequesterID)
	}
	return t, created, nil
}

// mailCategory returns id when it names an active category, else the
// oldest active category.
func (s *Service) mailCategory(ctx context.Context, q postgres.Querier, id string) (string, error) {
	if id != "" {
		err := checkCategoryActive(ctx, q, id)
		if err == nil {
			return id, nil
		}
		if !apperr.Is(err, apperr.Unprocessable) {
			return "", err
		}
		logging.FromContext(ctx, s.log).Warn("mapped category of an e-mail is inactive or unknown; using the default", "category_id", id)
	}
	var def string
	err := q.QueryRow(ctx, `SELECT id::text FROM categories WHERE active ORDER BY created_at, id LIMIT 1`).Scan(&def)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", errNoDefaultCategory
	}
	if err != nil {
		return "", fmt.Errorf("default category: %w", err)
	}
	return def, nil
}

// postMailTicket is mail-in opening the ticket of an e-mail: 201 when
// made, 200 when it was made before.
func (h *Handler) postMailTicket(w http.ResponseWriter, r *http.Request) {
	var in MailTicket
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	t, created, err := h.svc.CreateMailTicket(r.Context(), in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	httpx.JSON(w, status, t)
}
