package workflow

import (
	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/authn"
)

// adminRoutes registers the configuration of the workflow engine: teams
// and their members, process definitions, SLA policies and the directory
// of assignable users. Agents and admins may read them; only admins change
// them, except that agents set their own availability (see putMember).
// Routes has already authenticated the caller.
func (h *Handler) adminRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(authn.RequireRole(h.log, authn.RoleAgent, authn.RoleAdmin))
		r.Get("/teams", h.listTeams)
		r.Get("/teams/{id}", h.getTeam)
		r.Put("/teams/{id}/members/{user_id}", h.putMember)
		r.Get("/definitions/{category_id}", h.getDefinition)
		r.Get("/sla-policies", h.listSLAPolicies)
		r.Get("/sla-policies/{priority}", h.getSLAPolicy)
		r.Get("/agents", h.listAgents)
	})
	r.Group(func(r chi.Router) {
		r.Use(authn.RequireRole(h.log, authn.RoleAdmin))
		r.Post("/teams", h.createTeam)
		r.Patch("/teams/{id}", h.patchTeam)
		r.Delete("/teams/{id}", h.deleteTeam)
		r.Delete("/teams/{id}/members/{user_id}", h.deleteMember)
		r.Put("/definitions/{category_id}", h.putDefinition)
		r.Put("/sla-policies/{priority}", h.putSLAPolicy)
	})
}
