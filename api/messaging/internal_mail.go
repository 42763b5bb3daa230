package messaging

import (
	"context"
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/logging"
)

// MailComment is a reply by e-mail, as mail-in posts it: a public comment
// by AuthorID, whose access to the ticket is checked like any caller's. ID
// is chosen by mail-in (derived from the message), which makes the request
// idempotent.
type MailComment struct {
	ID         string     `json:"id"`
	AuthorID   string     `json:"author_id"`
	AuthorRole authn.Role `json:"author_role"`
	Body       string     `json:"body"`
}

// mailAuthor returns the person mail-in acts for, or an Unprocessable
// error naming the bad field.
func mailAuthor(id string, role authn.Role) (authn.User, error) {
	if !validID(id) {
		return authn.User{}, apperr.WithFields(apperr.Unprocessable, "the request has invalid fields",
			apperr.FieldError{Field: "author_id", Message: "must be a UUID"})
	}
	if !role.Valid() {
		return authn.User{}, apperr.WithFields(apperr.Unprocessable, "the request has invalid fields",
			apperr.FieldError{Field: "author_role", Message: "must be employee, agent or admin"})
	}
	return authn.User{ID: id, Role: role}, nil
}

// CreateMailComment adds the reply as a public comment, with its
// comment.created event, like CreateComment: the ticket's workflow hears of
// it the same way. A comment of that ID written before is returned as it
// is (created false).
func (s *Service) CreateMailComment(ctx context.Context, ticketID string, in MailComment) (Comment, bool, error) {
	author, err := mailAuthor(in.AuthorID, in.AuthorRole)
	if err != nil {
		return Comment{}, false, err
	}
	if !validID(in.ID) {
		return Comment{}, false, apperr.WithFields(apperr.Unprocessable, "the request has invalid fields",
			apperr.FieldError{Field: "id", Message: "must be a UUID"})
	}
	a, err := s.access.check(ctx, ticketID, author)
	if err != nil {
		return Comment{}, false, err
	}
	if err := checkBody(in.Body); err != nil {
		return Comment{}, false, err
	}
	var (
		c       Comment
		created bool
	)
	err = s.events.InTx(ctx, func(tx pgx.Tx) error {
		existing, err := commentByID(ctx, tx, in.ID, false)
		if err == nil {
			if existing.TicketID != ticketID || existing.AuthorID != author.ID {
				return apperr.New(apperr.Conflict, "comment %s exists on another ticket or by another author", in.ID)
			}
			c = existing
			return nil
		}
		if !apperr.Is(err, apperr.NotFound) {
			return err
		}
		draft := Comment{ID: in.ID, TicketID: ticketID, AuthorID: author.ID, AuthorRole: author.Role, Body: in.Body}
		if c, err = insertComment(ctx, tx, draft); err != nil {
			return err
		}
		created = true
		return publishCommentCreated(ctx, tx, c, a)
	})
	if err != nil {
		return Comment{}, false, err
	}
	if created {
		logging.FromContext(ctx, s.log).Info("comment created from an e-mail", "ticket_id", ticketID, "comment_id", c.ID, "user_id", author.ID)
		s.hub.broadcastComment(ctx, FrameCommentCreated, c)
	}
	return c, created, nil
}

// postMailComment is mail-in adding a reply: 201 when made, 200 when it
// was made before.
func (h *Handler) postMailComment(w http.ResponseWriter, r *http.Request) {
	var in MailComment
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	c, created, err := h.svc.CreateMailComment(r.Context(), chi.URLParam(r, "id"), in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	httpx.JSON(w, status, c)
}

// postMailAttachment is mail-in attaching a file of an e-mail: multipart
// field "file", with ?id= (chosen by mail-in, for idempotency),
// ?uploader_id= and ?uploader_role= naming the sender, whose access to the
// ticket is checked. 201 when stored, 200 when it was stored before.
func (h *Handler) postMailAttachment(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	uploader, err := mailAuthor(q.Get("uploader_id"), authn.Role(q.Get("uploader_role")))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id, ticketID := q.Get("id"), chi.URLParam(r, "id")
	if !validID(id) {
		h.fail(w, r, apperr.WithFields(apperr.Unprocessable, "the request has invalid fields",
			apperr.FieldError{Field: "id", Message: "must be a UUID"}))
		return
	}
	if a, err := attachmentByID(r.Context(), h.svc.pool, id); err == nil {
		if a.TicketID != ticketID {
			h.fail(w, r, apperr.New(apperr.Conflict, "attachment %s exists on another ticket", id))
			return
		}
		httpx.JSON(w, http.StatusOK, a)
		return
	}
	part, err := filePart(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer part.Close()
	a, err := h.svc.uploadMailFile(r.Context(), uploader, ticketID, id, part.FileName(), part)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, a)
}

// uploadMailFile is Upload with the ID mail-in chose.
func (s *Service) uploadMailFile(ctx context.Context, uploader authn.User, ticketID, id, fileName string, r io.Reader) (Attachment, error) {
	if _, err := s.access.check(ctx, ticketID, uploader); err != nil {
		return Attachment{}, err
	}
	name := sanitizeFileName(fileName)
	f, err := s.files.put(r, s.cfg.MaxAttachmentBytes, name)
	if err != nil {
		return Attachment{}, err
	}
	a, err := insertAttachment(ctx, s.pool, Attachment{
		ID: id, TicketID: ticketID, UploaderID: uploader.ID, FileName: name,
		Size: f.Size, ContentType: f.ContentType, SHA256: f.SHA256,
	})
	if err != nil {
		return Attachment{}, err
	}
	logging.FromContext(ctx, s.log).Info("attachment stored from an e-mail", "ticket_id", ticketID, "attachment_id", a.ID,
		"size", a.Size, "content_type", a.ContentType)
	return a, nil
}
