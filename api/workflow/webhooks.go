package workflow

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

// Webhooks out: admins register endpoints that receive the events they
// choose. The routes below keep the endpoints and serve their delivery
// log; the WebhookDispatcher (a RabbitMQ consumer in `ticketflow worker`)
// and WebhookWorkflow do the delivering.

// WithWebhooks sets the guard that webhook URLs must pass when they are
// registered or changed; without it, URLs must name public addresses.
func (h *Handler) WithWebhooks(guard URLGuard) *Handler {
	h.webhookGuard = guard
	return h
}

// webhookRoutes registers the admins' webhook routes.
func (h *Handler) webhookRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(authn.RequireRole(h.log, authn.RoleAdmin))
		r.Get("/webhooks", h.listWebhooks)
		r.Post("/webhooks", h.createWebhook)
		r.Get("/webhooks/{id}", h.getWebhook)
		r.Patch("/webhooks/{id}", h.patchWebhook)
		r.Delete("/webhooks/{id}", h.deleteWebhook)
		r.Get("/webhooks/{id}/deliveries", h.listWebhookDeliveries)
	})
}

// newWebhookRequest is the body of POST /webhooks. Active defaults to
// true; an empty secret has one generated.
type newWebhookRequest struct {
	URL         string   `json:"url"`
	Description string   `json:"description"`
	EventTypes  []string `json:"event_types"`
	Secret      string   `json:"secret"`
	Active      *bool    `json:"active"`
}

// webhookPatchRequest is the body of PATCH /webhooks/{id}.
type webhookPatchRequest struct {
	URL          *string  `json:"url"`
	Description  *string  `json:"description"`
	EventTypes   []string `json:"event_types"`
	Active       *bool    `json:"active"`
	Secret       *string  `json:"secret"`
	RotateSecret bool     `json:"rotate_secret"`
}

func (h *Handler) listWebhooks(w http.ResponseWriter, r *http.Request) {
	list, err := h.store.Webhooks(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, httpx.List[Webhook]{Items: orEmpty(list)})
}

func (h *Handler) getWebhook(w http.ResponseWriter, r *http.Request) {
	wh, err := h.store.Webhook(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, wh)
}

func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request) {
	var in newWebhookRequest
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.webhookGuard.Check(r.Context(), in.URL)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	active := in.Active == nil || *in.Active
	wh, err := h.store.CreateWebhook(r.Context(), WebhookSpec{
		URL: u, Description: in.Description, EventTypes: in.EventTypes, Secret: in.Secret, Active: active,
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, wh)
}

func (h *Handler) patchWebhook(w http.ResponseWriter, r *http.Request) {
	id, ok := canonicalID(chi.URLParam(r, "id"))
	if !ok {
		h.fail(w, r, errNoWebhook)
		return
	}
	var in webhookPatchRequest
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	p := WebhookPatch{
		Description: in.Description, EventTypes: in.EventTypes, Active: in.Active,
		Secret: in.Secret, RotateSecret: in.RotateSecret,
	}
	if in.EventTypes != nil && len(in.EventTypes) == 0 {
		h.fail(w, r, apperr.WithFields(apperr.Unprocessable, "the webhook is invalid",
			apperr.FieldError{Field: "event_types", Message: "must name at least one event type"}))
		return
	}
	if in.URL != nil {
		u, err := h.webhookGuard.Check(r.Context(), *in.URL)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p.URL = &u
	}
	wh, err := h.store.UpdateWebhook(r.Context(), id, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, wh)
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	if err := h.store.DeleteWebhook(r.Context(), chi.URLParam(r, "id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listWebhookDeliveries serves an endpoint's delivery log, newest first:
// ?limit= up to MaxWebhookDeliveries (the default).
func (h *Handler) listWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	limit := MaxWebhookDeliveries
	if raw := r.URL.Query().Get("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > MaxWebhookDeliveries {
			h.fail(w, r, apperr.WithFields(apperr.Invalid, "invalid query parameter",
				apperr.FieldError{Field: "limit", Message: "must be a number from 1 to " + strconv.Itoa(MaxWebhookDeliveries)}))
			return
		}
		limit = n
	}
	list, err := h.store.WebhookDeliveries(r.Context(), chi.URLParam(r, "id"), limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, httpx.List[WebhookDelivery]{Items: orEmpty(list)})
}
