package helpdesk

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

// surveyRoutes registers the satisfaction surveys for signed-in users:
//
//	GET  /tickets/{id}/survey   requester, agent, admin
//	POST /tickets/{id}/survey   the requester: {rating, comment}
//	GET  /surveys/report        admin
func (h *Handler) surveyRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(authn.RequireRole(h.log, authn.RoleEmployee, authn.RoleAgent, authn.RoleAdmin))
		r.Get("/tickets/{id}/survey", h.getSurvey)
		r.Post("/tickets/{id}/survey", h.rateTicket)
	})
	r.With(authn.RequireRole(h.log, authn.RoleAdmin)).Get("/surveys/report", h.surveyReport)
}

// publicSurveyRoutes registers what a survey link needs without a session:
//
//	POST /surveys/rate   {token, rating, comment}
func (h *Handler) publicSurveyRoutes(r chi.Router) {
	r.Post("/surveys/rate", h.rateByLink)
}

func (h *Handler) getSurvey(w http.ResponseWriter, r *http.Request) {
	sv, err := h.svc.Survey(r.Context(), authn.MustUser(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, sv)
}

func (h *Handler) rateTicket(w http.ResponseWriter, r *http.Request) {
	var in RatingInput
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	sv, err := h.svc.Rate(r.Context(), authn.MustUser(r.Context()), chi.URLParam(r, "id"), in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, sv)
}

// linkRatingRequest is the body of POST /surveys/rate.
type linkRatingRequest struct {
	Token   string `json:"token"`
	Rating  string `json:"rating"`
	Comment string `json:"comment"`
}

// linkRatingResponse is what a link's rating tells its anonymous holder:
// no more than that it was taken.
type linkRatingResponse struct {
	TicketID string `json:"ticket_id"`
	Rating   string `json:"rating"`
}

func (h *Handler) rateByLink(w http.ResponseWriter, r *http.Request) {
	var in linkRatingRequest
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	sv, err := h.svc.RateByLink(r.Context(), in.Token, RatingInput{Rating: in.Rating, Comment: in.Comment})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, linkRatingResponse{TicketID: sv.TicketID, Rating: *sv.Rating})
}

func (h *Handler) surveyReport(w http.ResponseWriter, r *http.Request) {
	rep, err := h.svc.SurveyReport(r.Context(), authn.MustUser(r.Context()))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, rep)
}

// requestSurvey is the ticket's workflow asking for a rating.
func (h *Handler) requestSurvey(w http.ResponseWriter, r *http.Request) {
	var in SurveyRequest
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	sv, err := h.svc.RequestSurvey(r.Context(), authn.MustUser(r.Context()), chi.URLParam(r, "id"), in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, sv)
}
