package helpdesk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/logging"
)

// A satisfaction survey is ticket data, so the helpdesk owns it: the
// ticket's workflow asks for one when the ticket is resolved (through the
// internal route), the helpdesk stores it and announces survey.requested
// with a signed link token, the notification service mails the links, and
// the requester answers once, in the app or through the link without
// signing in.

// Ratings of a survey.
const (
	RatingGood = "good"
	RatingBad  = "bad"
)

// MaxSurveyComment is the longest comment of a rating, in characters.
const MaxSurveyComment = 2000

// surveyAudience is the audience of survey link tokens: they are never
// access tokens, and access tokens are never survey links.
const surveyAudience = "ticketflow-survey"

// SurveyLinks signs and checks the tokens of one-click survey links:
// HMAC-SHA256 JWTs carrying the ticket ID, the requester's ID, the link's
// own ID and an expiry. The signature makes them unforgeable; that the
// link works once is enforced by the database (see RateByLink).
type SurveyLinks struct {
	secret []byte
	ttl    time.Duration
}

// NewSurveyLinks returns the signer of survey links with the given secret
// (every replica needs the same) and lifetime.
func NewSurveyLinks(secret string, ttl time.Duration) (*SurveyLinks, error) {
	if len(secret) < 16 {
		return nil, errors.New("survey link secret must be at least 16 characters")
	}
	if ttl <= 0 {
		return nil, errors.New("survey link lifetime must be positive")
	}
	return &SurveyLinks{secret: []byte(secret), ttl: ttl}, nil
}

// surveyClaims are the claims of a survey link token.
type surveyClaims struct {
	jwt.RegisteredClaims
	// TicketID is the ticket to rate; Subject is its requester, ID the
	// link's own ID.
	TicketID string `json:"tid"`
}

func (l *SurveyLinks) sign(ticketID, requesterID, tokenID string, expires time.Time) (string, error) {
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, surveyClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   requesterID,
			Audience:  jwt.ClaimStrings{surveyAudience},
			ExpiresAt: jwt.NewNumericDate(expires),
			IssuedAt:  jwt.NewNumericDate(time.Now()),
			ID:        tokenID,
		},
		TicketID: ticketID,
	})
	s, err := tok.SignedString(l.secret)
	if err != nil {
		return "", fmt.Errorf("sign survey link of ticket %s: %w", ticketID, err)
	}
	return s, nil
}

// Answers to a bad link. A malformed or forged link and an expired one are
// told apart (the latter is no attack, and the requester may still rate in
// the app); both change nothing.
var (
	errBadSurveyLink     = apperr.New(apperr.Invalid, "the survey link is invalid")
	errExpiredSurveyLink = apperr.New(apperr.Forbidden, "the survey link has expired; you can still rate the ticket in the app")
)

// check verifies a link token's signature, audience and expiry and returns
// its claims.
func (l *SurveyLinks) check(token string) (surveyClaims, error) {
	var c surveyClaims
	if token == "" || len(token) > 2048 {
		return c, errBadSurveyLink
	}
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return l.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithAudience(surveyAudience),
		jwt.WithExpirationRequired())
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return c, errExpiredSurveyLink
	case err != nil:
		return c, errBadSurveyLink
	case !validID(c.TicketID) || !validID(c.Subject) || !validID(c.ID):
		return c, errBadSurveyLink
	}
	return c, nil
}

// WithSurveyLinks lets the service ask for and take ratings by link; a
// service without it refuses both (Unavailable). It returns s.
func (s *Service) WithSurveyLinks(l *SurveyLinks) *Service {
	s.surveyLinks.Store(l)
	return s
}

var errSurveysOff = apperr.New(apperr.Unavailable, "satisfaction surveys are not configured")

// Survey is a ticket's satisfaction survey as the API shows it.
type Survey struct {
	TicketID string `json:"ticket_id"`
	// Status is "none" before the ticket's requester was asked,
	// "pending" until they rate, then "rated".
	Status string `json:"status"`
	// Rating is "good" or "bad", null while pending.
	Rating  *string `json:"rating"`
	Comment string  `json:"comment"`
	// AgentID and TeamID are whom the rating counts for.
	AgentID *string `json:"agent_id"`
	TeamID  *string `json:"team_id"`
	// RequestedAt and ExpiresAt (of the e-mailed link) are null while
	// status is "none".
	RequestedAt *time.Time `json:"requested_at"`
	ExpiresAt   *time.Time `json:"expires_at"`
	RatedAt     *time.Time `json:"rated_at"`
	// RatedVia is "app" or "link", null while pending.
	RatedVia *string `json:"rated_via"`

	requesterID string
	tokenID     string
	requestKey  string
}

// SurveyRequest is the workflow's ask for a rating of a resolved ticket.
type SurveyRequest struct {
	// RequestKey makes the ask idempotent.
	RequestKey string `json:"request_key"`
	AgentID    string `json:"agent_id"`
	TeamID     string `json:"team_id"`
}

// SurveyRequestedEvent is the data of survey.requested: what the
// notification service needs to mail the requester their links.
type SurveyRequestedEvent struct {
	TicketID    string    `json:"ticket_id"`
	Title       string    `json:"title"`
	RequesterID string    `json:"requester_id"`
	AgentID     string    `json:"agent_id,omitempty"`
	Token       string    `json:"token"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// RatingInput is a requester's answer.
type RatingInput struct {
	Rating  string `json:"rating"`
	Comment string `json:"comment"`
}

func (in *RatingInput) validate() error {
	in.Comment = strings.TrimSpace(in.Comment)
	var errs fieldErrors
	if in.Rating != RatingGood && in.Rating != RatingBad {
		errs.add("rating", "must be good or bad")
	}
	errs.checkText("comment", in.Comment, MaxSurveyComment)
	return errs.err(apperr.Unprocessable, "the rating is invalid")
}

// RequestSurvey records that the requester of the resolved ticket id is
// asked for a rating, and announces survey.requested with a new signed
// link, in one transaction. Asking again with the same key changes
// nothing; asking again with another key (the ticket was reopened and
// resolved again) renews the link and whom it counts for, unless the
// requester has rated already: the first rating stands. Only services may
// ask; a ticket that is neither resolved nor closed is a Conflict.
func (s *Service) RequestSurvey(ctx context.Context, caller authn.User, id string, req SurveyRequest) (Survey, error) {
	if !caller.IsService() {
		return Survey{}, apperr.New(apperr.Forbidden, "only services may ask for a rating")
	}
	links := s.surveyLinks.Load()
	if links == nil {
		return Survey{}, errSurveysOff
	}
	var errs fieldErrors
	if req.RequestKey == "" || len(req.RequestKey) > 200 {
		errs.add("request_key", "must be 1-200 characters")
	}
	if req.AgentID != "" {
		errs.checkUUID("agent_id", req.AgentID)
	}
	if req.TeamID != "" {
		errs.checkUUID("team_id", req.TeamID)
	}
	if err := errs.err(apperr.Unprocessable, "the survey request is invalid"); err != nil {
		return Survey{}, err
	}
	if !validID(id) {
		return Survey{}, errNoTicket
	}
	var (
		sv   Survey
		sent bool
	)
	err := s.events.InTx(ctx, func(tx pgx.Tx) error {
		t, err := ticketByID(ctx, tx, id, true)
		if err != nil {
			return err
		}
		// Closed too: the requester may close the ticket before the
		// workflow's ask arrives.
		if t.Status != StatusResolved && t.Status != StatusClosed {
			return apperr.New(apperr.Conflict, "the ticket is not resolved")
		}
		old, found, err := surveyByTicket(ctx, tx, id)
		if err != nil {
			return err
		}
		if found && (old.requestKey == req.RequestKey || old.Rating != nil) {
			sv = old
			return nil
		}
		tokenID, expires := newID(), time.Now().Add(links.ttl).UTC().Truncate(time.Second)
		token, err := links.sign(id, t.RequesterID, tokenID, expires)
		if err != nil {
			return err
		}
		if sv, err = upsertSurvey(ctx, tx, id, t.RequesterID, req, tokenID, expires); err != nil {
			return err
		}
		sent = true
		return publish(ctx, tx, events.SurveyRequested, id, SurveyRequestedEvent{
			TicketID: id, Title: t.Title, RequesterID: t.RequesterID, AgentID: req.AgentID,
			Token: token, ExpiresAt: expires,
		})
	})
	if err != nil {
		return Survey{}, err
	}
	if sent {
		logging.FromContext(ctx, s.log).Info("survey requested", "ticket_id", id, "request_key", req.RequestKey)
	}
	return sv, nil
}

// Survey returns the survey of ticket id for someone who may see the
// ticket (NotFound when the ticket is not theirs); a ticket nobody was
// asked about yet has a survey of status "none".
func (s *Service) Survey(ctx context.Context, caller authn.User, id string) (Survey, error) {
	if !validID(id) {
		return Survey{}, errNoTicket
	}
	t, err := ticketByID(ctx, s.pool, id, false)
	if err != nil {
		return Survey{}, err
	}
	if !t.visibleTo(caller) {
		return Survey{}, errNoTicket
	}
	sv, found, err := surveyByTicket(ctx, s.pool, id)
	if err != nil {
		return Survey{}, err
	}
	if !found {
		return Survey{TicketID: id, Status: "none"}, nil
	}
	return sv, nil
}

// Rate records the requester's rating of their ticket from the app. Only
// the requester may rate (anyone else: NotFound, as for a ticket they
// cannot see); the ticket must be resolved or closed and asked about, and
// not yet rated (Conflict otherwise).
func (s *Service) Rate(ctx context.Context, caller authn.User, id string, in RatingInput) (Survey, error) {
	if err := in.validate(); err != nil {
		return Survey{}, err
	}
	if !validID(id) {
		return Survey{}, errNoTicket
	}
	return s.rate(ctx, id, caller.ID, "", "app", in)
}

// RateByLink records a rating from a signed e-mail link, without a
// session. A malformed or forged link is Invalid, an expired one
// Forbidden; a link used before, or replaced by a newer one, is a
// Conflict and the first rating stands.
func (s *Service) RateByLink(ctx context.Context, token string, in RatingInput) (Survey, error) {
	links := s.surveyLinks.Load()
	if links == nil {
		return Survey{}, errSurveysOff
	}
	claims, err := links.check(token)
	if err != nil {
		return Survey{}, err
	}
	if err := in.validate(); err != nil {
		return Survey{}, err
	}
	return s.rate(ctx, claims.TicketID, claims.Subject, claims.ID, "link", in)
}

// rate writes a rating of ticket id by requester in one transaction that
// locks the survey, so of two concurrent ratings exactly one wins. tokenID,
// when not empty, must be the survey's current link.
func (s *Service) rate(ctx context.Context, id, requester, tokenID, via string, in RatingInput) (Survey, error) {
	var sv Survey
	err := s.events.InTx(ctx, func(tx pgx.Tx) error {
		t, err := ticketByID(ctx, tx, id, false)
		if err != nil {
			return err
		}
		if t.RequesterID != requester {
			return errNoTicket
		}
		if t.Status != StatusResolved && t.Status != StatusClosed {
			return apperr.New(apperr.Conflict, "the ticket is not resolved: rate it once it is")
		}
		old, found, err := surveyByTicket(ctx, tx, id, true)
		if err != nil {
			return err
		}
		switch {
		case !found:
			return apperr.New(apperr.Conflict, "no rating was asked for this ticket")
		case old.Rating != nil:
			return apperr.New(apperr.Conflict, "this ticket was rated already; the first rating stands")
		case tokenID != "" && tokenID != old.tokenID:
			return apperr.New(apperr.Conflict, "this survey link was replaced by a newer one")
		}
		sv, err = saveRating(ctx, tx, id, in, via)
		return err
	})
	if err != nil {
		return Survey{}, err
	}
	logging.FromContext(ctx, s.log).Info("ticket rated", "ticket_id", id, "rating", in.Rating, "via", via)
	return sv, nil
}

// RatingCount is how many good and bad ratings someone got.
type RatingCount struct {
	Good  int `json:"good"`
	Bad   int `json:"bad"`
	Total int `json:"total"`
}

// AgentRatings are the ratings of the tickets an agent resolved.
type AgentRatings struct {
	AgentID string `json:"agent_id"`
	Name    string `json:"name"`
	RatingCount
}

// TeamRatings are the ratings of the tickets a team resolved; the team's
// name belongs to the workflow engine.
type TeamRatings struct {
	TeamID string `json:"team_id"`
	RatingCount
}

// RatedTicket is one rating in the report.
type RatedTicket struct {
	TicketID      string    `json:"ticket_id"`
	Title         string    `json:"title"`
	Rating        string    `json:"rating"`
	Comment       string    `json:"comment"`
	RatedAt       time.Time `json:"rated_at"`
	RatedVia      string    `json:"rated_via"`
	RequesterName string    `json:"requester_name"`
	AgentID       *string   `json:"agent_id"`
	AgentName     string    `json:"agent_name"`
	TeamID        *string   `json:"team_id"`
}

// SurveyReport is the admins' view of the ratings.
type SurveyReport struct {
	Overall RatingCount    `json:"overall"`
	Pending int            `json:"pending"`
	Agents  []AgentRatings `json:"agents"`
	Teams   []TeamRatings  `json:"teams"`
	Recent  []RatedTicket  `json:"recent"`
}

// maxRecentRatings bounds the latest ratings the report lists.
const maxRecentRatings = 50

// SurveyReport returns the ratings per agent and per team, and the latest
// ones. Only admins may read it.
func (s *Service) SurveyReport(ctx context.Context, caller authn.User) (SurveyReport, error) {
	if caller.Role != authn.RoleAdmin {
		return SurveyReport{}, apperr.New(apperr.Forbidden, "only admins see the survey report")
	}
	return surveyReport(ctx, s.pool, maxRecentRatings)
}
