package messaging

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/logging"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

// Limits of a comment.
const (
	// MaxCommentBytes bounds a comment's Markdown body, in bytes of UTF-8.
	MaxCommentBytes = 64 << 10
	// maxCommentRequestSize leaves room for a body at the limit even if
	// every character of it is JSON-escaped; the body's own limit is
	// checked after decoding.
	maxCommentRequestSize = 6*MaxCommentBytes + 16<<10
	// defaultPageSize and maxPageSize bound list pages.
	defaultPageSize = 100
	maxPageSize     = 200
)

// Comment is a comment as the API and the WebSocket frames show it. The
// body is Markdown, stored as written; the web app renders it safely. A
// deleted comment keeps its place in the thread with an empty body.
type Comment struct {
	ID         string     `json:"id"`
	TicketID   string     `json:"ticket_id"`
	AuthorID   string     `json:"author_id"`
	AuthorName string     `json:"author_name,omitempty"`
	AuthorRole authn.Role `json:"author_role"`
	Body       string     `json:"body"`
	Internal   bool       `json:"internal"`
	CreatedAt  time.Time  `json:"created_at"`
	EditedAt   *time.Time `json:"edited_at"`
	Deleted    bool       `json:"deleted"`
}

// visibleTo reports whether u may read c, given that u may see its
// ticket: internal notes are for agents and admins only.
func (c Comment) visibleTo(u authn.User) bool { return !c.Internal || u.IsStaff() }

// NewComment is a comment to write. Internal notes are for agents and
// admins only.
type NewComment struct {
	Body     string `json:"body"`
	Internal bool   `json:"internal"`
}

// CommentEdit is a new body for a comment.
type CommentEdit struct {
	Body string `json:"body"`
}

// errNoComment is the one answer to an unknown comment or one the caller
// may not read.
var errNoComment = apperr.New(apperr.NotFound, "no such comment")

// checkBody returns an Unprocessable error when body cannot be a comment.
func checkBody(body string) error {
	var msg string
	switch {
	case strings.TrimSpace(body) == "":
		msg = "is required"
	case len(body) > MaxCommentBytes:
		msg = fmt.Sprintf("must be at most %d KiB long", MaxCommentBytes>>10)
	case strings.ContainsRune(body, 0):
		msg = "must not contain NUL characters"
	case !utf8.ValidString(body):
		msg = "must be valid UTF-8"
	default:
		return nil
	}
	return apperr.WithFields(apperr.Unprocessable, "the request has invalid fields",
		apperr.FieldError{Field: "body", Message: msg})
}

// CreateComment adds caller's comment to the ticket's conversation. The
// comment and its comment.created event commit in one transaction; the
// ticket's workflow is signalled from that event by workers/, not from
// here. Then the comment goes live to the ticket's subscribers.
func (s *Service) CreateComment(ctx context.Context, caller authn.User, ticketID string, in NewComment) (Comment, error) {
	a, err := s.access.check(ctx, ticketID, caller)
	if err != nil {
		return Comment{}, err
	}
	if in.Internal && !caller.IsStaff() {
		return Comment{}, apperr.New(apperr.Forbidden, "only agents and admins write internal notes")
	}
	if err := checkBody(in.Body); err != nil {
		return Comment{}, err
	}
	draft := Comment{
		ID: newID(), TicketID: ticketID, AuthorID: caller.ID, AuthorRole: caller.Role,
		Body: in.Body, Internal: in.Internal,
	}
	var c Comment
	err = s.events.InTx(ctx, func(tx pgx.Tx) error {
		if c, err = insertComment(ctx, tx, draft); err != nil {
			return err
		}
		return publishCommentCreated(ctx, tx, c, a)
	})
	if err != nil {
		return Comment{}, err
	}
	logging.FromContext(ctx, s.log).Info("comment created", "ticket_id", ticketID, "comment_id", c.ID, "internal", c.Internal)
	s.hub.broadcastComment(ctx, FrameCommentCreated, c)
	return c, nil
}

// Page asks for one page of a list, oldest first.
type Page struct {
	// Limit is the page size: defaultPageSize when zero, at most maxPageSize.
	Limit int
	// After is where the previous page ended; nil for the first page.
	After *Position
}

// Position is a place in a list ordered by creation: the cursor's content.
type Position struct {
	At time.Time `json:"at"`
	ID string    `json:"id"`
}

// limit returns the page size to use.
func (p Page) limit() (int, error) {
	switch {
	case p.Limit == 0:
		return defaultPageSize, nil
	case p.Limit < 0 || p.Limit > maxPageSize:
		return 0, apperr.WithFields(apperr.Invalid, "invalid query",
			apperr.FieldError{Field: "limit", Message: fmt.Sprintf("must be a number from 1 to %d", maxPageSize)})
	}
	return p.Limit, nil
}

// Comments returns a page of the ticket's conversation as caller may read
// it, oldest first, and where the next page starts (nil at the end).
// Requesters get the public replies only.
func (s *Service) Comments(ctx context.Context, caller authn.User, ticketID string, p Page) ([]Comment, *Position, error) {
	limit, err := p.limit()
	if err != nil {
		return nil, nil, err
	}
	if _, err := s.access.check(ctx, ticketID, caller); err != nil {
		return nil, nil, err
	}
	comments, err := listComments(ctx, s.pool, ticketID, caller.IsStaff(), p.After, limit+1)
	if err != nil {
		return nil, nil, err
	}
	if len(comments) <= limit {
		return comments, nil, nil
	}
	comments = comments[:limit]
	last := comments[limit-1]
	return comments, &Position{At: last.CreatedAt, ID: last.ID}, nil
}

// EditComment replaces the body of caller's comment id, keeping the old
// text in the comment's history. Only the author may, within the edit
// window, and not once the comment is deleted.
func (s *Service) EditComment(ctx context.Context, caller authn.User, id string, in CommentEdit) (Comment, error) {
	if _, err := s.readableComment(ctx, caller, id); err != nil {
		return Comment{}, err
	}
	if err := checkBody(in.Body); err != nil {
		return Comment{}, err
	}
	c, err := s.revise(ctx, caller, id, revisionEdit, in.Body)
	if err != nil {
		return Comment{}, err
	}
	logging.FromContext(ctx, s.log).Info("comment edited", "ticket_id", c.TicketID, "comment_id", c.ID)
	return c, nil
}

// DeleteComment deletes caller's comment id: its text moves to the
// comment's history and the comment stays in the thread, marked deleted,
// with an empty body. The same rules as for an edit apply.
func (s *Service) DeleteComment(ctx context.Context, caller authn.User, id string) (Comment, error) {
	if _, err := s.readableComment(ctx, caller, id); err != nil {
		return Comment{}, err
	}
	c, err := s.revise(ctx, caller, id, revisionDelete, "")
	if err != nil {
		return Comment{}, err
	}
	logging.FromContext(ctx, s.log).Info("comment deleted", "ticket_id", c.TicketID, "comment_id", c.ID)
	return c, nil
}

// readableComment returns comment id when caller may read it: they may see
// its ticket, and it is public or they are staff.
func (s *Service) readableComment(ctx context.Context, caller authn.User, id string) (Comment, error) {
	if !validID(id) {
		return Comment{}, errNoComment
	}
	c, err := commentByID(ctx, s.pool, id, false)
	if err != nil {
		return Comment{}, err
	}
	if _, err := s.access.check(ctx, c.TicketID, caller); err != nil {
		if apperr.Is(err, apperr.NotFound) {
			return Comment{}, errNoComment
		}
		return Comment{}, err
	}
	if !c.visibleTo(caller) {
		return Comment{}, errNoComment
	}
	return c, nil
}

// The kinds of revision a comment goes through.
const (
	revisionEdit   = "edit"
	revisionDelete = "delete"
)

// revise edits (body set) or deletes a comment in one transaction that
// keeps its previous text as a revision, then sends comment.updated live.
func (s *Service) revise(ctx context.Context, caller authn.User, id, kind, body string) (Comment, error) {
	var c Comment
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		old, err := commentByID(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := s.checkRevisable(old, caller); err != nil {
			return err
		}
		if kind == revisionEdit && body == old.Body {
			c = old // nothing changes, nothing to record
			return nil
		}
		if err := insertRevision(ctx, tx, old, kind, caller.ID); err != nil {
			return err
		}
		c, err = updateCommentBody(ctx, tx, id, body, kind == revisionDelete)
		return err
	})
	if err != nil {
		return Comment{}, err
	}
	s.hub.broadcastComment(ctx, FrameCommentUpdated, c)
	return c, nil
}

// checkRevisable returns why caller may not change c, if they may not.
func (s *Service) checkRevisable(c Comment, caller authn.User) error {
	switch {
	case c.AuthorID != caller.ID:
		return apperr.New(apperr.Forbidden, "only its author may change a comment")
	case c.Deleted:
		return apperr.New(apperr.Conflict, "the comment was deleted")
	case s.now().After(c.CreatedAt.Add(s.cfg.EditWindow)):
		return apperr.New(apperr.Conflict, "a comment can be changed only within %s of writing it", s.cfg.EditWindow)
	}
	return nil
}
