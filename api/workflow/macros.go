package workflow

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

// Canned replies and macros: admins keep them per team; agents list their
// teams' macros, insert a canned reply's rendered text into a reply, or
// apply a macro to a ticket in one action (see macros_apply.go).

// macroRoutes registers the macro routes. Routes has already
// authenticated the caller.
//
//	GET    /macros                                 agent (their teams'), admin (all; ?team_id=)
//	GET    /macros/{id}                            agent of its team, admin
//	POST   /macros, PATCH /macros/{id}, DELETE     admin
//	GET    /tickets/{id}/macros                    agent, admin: the macros with their bodies rendered for the ticket
//	POST   /tickets/{id}/macros/{macro_id}/apply   agent of the macro's team, admin
func (h *Handler) macroRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(authn.RequireRole(h.log, authn.RoleAgent, authn.RoleAdmin))
		r.Get("/macros", h.listMacros)
		r.Get("/macros/{id}", h.getMacro)
		r.Get("/tickets/{id}/macros", h.ticketMacros)
		r.Post("/tickets/{id}/macros/{macro_id}/apply", h.applyMacro)
	})
	r.Group(func(r chi.Router) {
		r.Use(authn.RequireRole(h.log, authn.RoleAdmin))
		r.Post("/macros", h.createMacro)
		r.Patch("/macros/{id}", h.patchMacro)
		r.Delete("/macros/{id}", h.deleteMacro)
	})
}

// newMacroRequest is the body of POST /macros.
type newMacroRequest struct {
	TeamID   string  `json:"team_id"`
	Name     string  `json:"name"`
	Body     string  `json:"body"`
	Internal bool    `json:"internal"`
	ToStep   *string `json:"to_step"`
	Priority *string `json:"priority"`
}

// macroPatchRequest is the body of PATCH /macros/{id}: absent fields stay;
// an empty to_step or priority removes that action.
type macroPatchRequest struct {
	TeamID   *string `json:"team_id"`
	Name     *string `json:"name"`
	Body     *string `json:"body"`
	Internal *bool   `json:"internal"`
	ToStep   *string `json:"to_step"`
	Priority *string `json:"priority"`
}

// memberFilter is the user whose teams' macros caller may see: "" for an
// admin, who sees all.
func memberFilter(caller authn.User) string {
	if caller.Role == authn.RoleAdmin {
		return ""
	}
	return caller.ID
}

// visibleMacro returns the macro if caller may use it: admins any, agents
// their teams'. Another team's macro is as unknown as a missing one.
func (h *Handler) visibleMacro(r *http.Request, id string) (Macro, error) {
	m, err := h.store.Macro(r.Context(), id)
	if err != nil {
		return Macro{}, err
	}
	caller := authn.MustUser(r.Context())
	if caller.Role == authn.RoleAdmin {
		return m, nil
	}
	member, err := h.store.IsTeamMember(r.Context(), m.TeamID, caller.ID)
	if err != nil {
		return Macro{}, err
	}
	if !member {
		return Macro{}, errNoMacro
	}
	return m, nil
}

func (h *Handler) listMacros(w http.ResponseWriter, r *http.Request) {
	team := r.URL.Query().Get("team_id")
	if team != "" {
		id, ok := canonicalID(team)
		if !ok {
			h.fail(w, r, apperr.WithFields(apperr.Invalid, "invalid query", apperr.FieldError{Field: "team_id", Message: "must be a UUID"}))
			return
		}
		team = id
	}
	list, err := h.store.Macros(r.Context(), memberFilter(authn.MustUser(r.Context())), team)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, httpx.List[Macro]{Items: orEmpty(list)})
}

func (h *Handler) getMacro(w http.ResponseWriter, r *http.Request) {
	m, err := h.visibleMacro(r, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, m)
}

func (h *Handler) createMacro(w http.ResponseWriter, r *http.Request) {
	var req newMacroRequest
	if err := httpx.Decode(r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	m, err := h.store.CreateMacro(r.Context(), MacroInput{
		TeamID: req.TeamID, Name: req.Name, Body: req.Body, Internal: req.Internal, ToStep: req.ToStep, Priority: req.Priority,
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, m)
}

func (h *Handler) patchMacro(w http.ResponseWriter, r *http.Request) {
	var req macroPatchRequest
	if err := httpx.Decode(r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	m, err := h.store.Macro(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in := MacroInput{TeamID: m.TeamID, Name: m.Name, Body: m.Body, Internal: m.Internal, ToStep: m.ToStep, Priority: m.Priority}
	if req.TeamID != nil {
		in.TeamID = *req.TeamID
	}
	if req.Name != nil {
		in.Name = *req.Name
	}
	if req.Body != nil {
		in.Body = *req.Body
	}
	if req.Internal != nil {
		in.Internal = *req.Internal
	}
	if req.ToStep != nil {
		in.ToStep = req.ToStep
	}
	if req.Priority != nil {
		in.Priority = req.Priority
	}
	m, err = h.store.UpdateMacro(r.Context(), m.ID, in)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, m)
}

func (h *Handler) deleteMacro(w http.ResponseWriter, r *http.Request) {
	if err := h.store.DeleteMacro(r.Context(), chi.URLParam(r, "id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// TicketMacro is a macro as the reply box offers it for one ticket: with
// its body rendered for that ticket and the caller.
type TicketMacro struct {
	Macro
	Rendered string `json:"rendered"`
}

// ticketMacros serves GET /tickets/{id}/macros: the caller's macros with
// their bodies rendered, for the reply box to insert or apply.
func (h *Handler) ticketMacros(w http.ResponseWriter, r *http.Request) {
	caller := authn.MustUser(r.Context())
	_, values, err := h.store.macroContext(r.Context(), chi.URLParam(r, "id"), caller.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	list, err := h.store.Macros(r.Context(), memberFilter(caller), "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	items := make([]TicketMacro, 0, len(list))
	for _, m := range list {
		items = append(items, TicketMacro{Macro: m, Rendered: RenderMacroBody(m.Body, values)})
	}
	httpx.JSON(w, http.StatusOK, httpx.List[TicketMacro]{Items: items})
}
