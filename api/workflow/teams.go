package workflow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/workflows"
)

// newTeamRequest is the body of POST /teams. A lead, when given, becomes
// the team's first member.
type newTeamRequest struct {
	Name     string              `json:"name"`
	Calendar *workflows.Calendar `json:"calendar"`
	LeadID   *string             `json:"lead_id"`
}

// teamPatchRequest is the body of PATCH /teams/{id}. A calendar left out
// stays; "calendar": null removes it.
type teamPatchRequest struct {
	Name     *string         `json:"name"`
	Calendar json.RawMessage `json:"calendar"`
	// Strategy, when given, is round_robin or fewest_open.
	Strategy *string `json:"strategy"`
	// LeadID, when given, is the new lead (a member of the team) or null
	// for none. Left out, the lead stays.
	LeadID json.RawMessage `json:"lead_id"`
}

// memberRequest is the body of PUT /teams/{id}/members/{user_id}.
type memberRequest struct {
	Available *bool `json:"available"`
	// Capacity, when given, is the member's new capacity: a number or
	// null for no limit (admins only). Left out, it stays.
	Capacity json.RawMessage `json:"capacity"`
}

func (h *Handler) listTeams(w http.ResponseWriter, r *http.Request) {
	teams, err := h.store.Teams(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, httpx.List[Team]{Items: orEmpty(teams)})
}

func (h *Handler) getTeam(w http.ResponseWriter, r *http.Request) {
	t, err := h.store.Team(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, t)
}

func (h *Handler) createTeam(w http.ResponseWriter, r *http.Request) {
	var in newTeamRequest
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	lead := ""
	if in.LeadID != nil {
		lead = *in.LeadID
		if lead == "" {
			h.fail(w, r, errBadLead)
			return
		}
	}
	t, err := h.store.CreateTeamWithLead(r.Context(), in.Name, in.Calendar, lead)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, t)
}

func (h *Handler) patchTeam(w http.ResponseWriter, r *http.Request) {
	id, ok := canonicalID(chi.URLParam(r, "id"))
	if !ok {
		h.fail(w, r, errNoTeam)
		return
	}
	var in teamPatchRequest
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	p := TeamPatch{Name: in.Name, Strategy: in.Strategy}
	if in.Calendar != nil {
		p.SetCalendar = true
		if !bytes.Equal(bytes.TrimSpace(in.Calendar), []byte("null")) {
			// Decoded as strictly as the rest of the body.
			dec := json.NewDecoder(bytes.NewReader(in.Calendar))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&p.Calendar); err != nil {
				h.fail(w, r, apperr.WithFields(apperr.Invalid, "request body has an invalid calendar",
					apperr.FieldError{Field: "calendar", Message: "must be {time_zone, days, start_minute, end_minute} or null"}))
				return
			}
		}
	}
	if in.LeadID != nil {
		p.SetLead = true
		if !bytes.Equal(bytes.TrimSpace(in.LeadID), []byte("null")) {
			if err := json.Unmarshal(in.LeadID, &p.LeadID); err != nil {
				h.fail(w, r, apperr.WithFields(apperr.Invalid, "request body has an invalid lead_id",
					apperr.FieldError{Field: "lead_id", Message: "must be a user ID or null"}))
				return
			}
			if p.LeadID == "" {
				h.fail(w, r, errBadLead)
				return
			}
		}
	}
	t, err := h.store.UpdateTeam(r.Context(), id, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if p.Strategy != nil {
		// Another strategy may find room where the old one did not.
		h.signalWaiting(r.Context(), id)
	}
	httpx.JSON(w, http.StatusOK, t)
}

// deleteTeam deletes a team with its members; a team that a process
// definition or a ticket still needs is kept (409, see Store.DeleteTeam).
func (h *Handler) deleteTeam(w http.ResponseWriter, r *http.Request) {
	if err := h.store.DeleteTeam(r.Context(), chi.URLParam(r, "id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// putMember adds a member to a team or changes their availability. Admins
// may do either for any assignable user; an agent may only change their
// own availability in a team they belong to.
func (h *Handler) putMember(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	caller := authn.MustUser(ctx)
	teamID, ok := canonicalID(chi.URLParam(r, "id"))
	if !ok {
		h.fail(w, r, errNoTeam)
		return
	}
	userID, ok := canonicalID(chi.URLParam(r, "user_id"))
	if !ok {
		h.fail(w, r, errNoMember)
		return
	}
	self, _ := canonicalID(caller.ID)
	if caller.Role != authn.RoleAdmin && userID != self {
		h.fail(w, r, apperr.New(apperr.Forbidden, "agents may only change their own availability"))
		return
	}
	var in memberRequest
	if err := httpx.Decode(r, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	if in.Available == nil {
		h.fail(w, r, apperr.WithFields(apperr.Unprocessable, "the request has invalid fields",
			apperr.FieldError{Field: "available", Message: "is required"}))
		return
	}
	capacity, setCapacity, err := decodeCapacity(in.Capacity)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if setCapacity && caller.Role != authn.RoleAdmin {
		h.fail(w, r, apperr.New(apperr.Forbidden, "only an admin sets a member's capacity"))
		return
	}
	// A new capacity is in place before the member is (newly) available, so
	// that an assignment racing this request never sees them without it: a
	// member being added comes in unavailable, gets the capacity, and only
	// then takes the availability asked for.
	added, gainedRoom := false, false
	if setCapacity {
		_, gainedRoom, err = h.store.SetCapacity(ctx, teamID, userID, capacity)
		if errors.Is(err, errNoMember) {
			var first MemberChange
			if first, err = h.store.AddOrUpdateMember(ctx, teamID, userID, false); err == nil {
				added = first.Added
				_, gainedRoom, err = h.store.SetCapacity(ctx, teamID, userID, capacity)
			}
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
	}
	var change MemberChange
	if caller.Role == authn.RoleAdmin {
		change, err = h.store.AddOrUpdateMember(ctx, teamID, userID, *in.Available)
	} else {
		change, err = h.store.SetAvailability(ctx, teamID, userID, *in.Available)
		if errors.Is(err, errNoMember) {
			err = apperr.New(apperr.Forbidden, "only an admin can add you to this team")
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	change.Added = change.Added || added
	if change.BecameAvailable || (gainedRoom && change.Member.Available) {
		h.onAgentAvailable(ctx, teamID)
	}
	status := http.StatusOK
	if change.Added {
		status = http.StatusCreated
	}
	httpx.JSON(w, status, change.Member)
}

func (h *Handler) deleteMember(w http.ResponseWriter, r *http.Request) {
	if err := h.store.RemoveMember(r.Context(), chi.URLParam(r, "id"), chi.URLParam(r, "user_id")); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// onAgentAvailable runs when a member of the team became available: the
// tickets waiting for an agent of the team are signalled, so their
// workflows try the assignment again.
func (h *Handler) onAgentAvailable(ctx context.Context, teamID string) {
	h.signalWaiting(ctx, teamID)
}
