// Package workflow is the workflow engine's HTTP service: the state of each
// ticket's run, its transitions and reassignment (as Temporal Updates), the
// agents' board, and the admin's teams, process definitions and SLA
// policies, which the ticket workflow's activities read from its store.
package workflow

import (
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"
	"go.temporal.io/sdk/client"

	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

// Prefix is where the workflow API lives.
const Prefix = "/workflow"

// Handler serves the workflow API.
type Handler struct {
	store    *Store
	temporal client.Client
	verifier *authn.Verifier
	log      *slog.Logger
	// temporalUI is the Temporal UI's base URL, for admins' links to a run.
	temporalUI string
	namespace  string
	// webhookGuard checks webhook URLs (see WithWebhooks).
	webhookGuard URLGuard
	// macros are the services applying a macro calls (see WithMacros).
	macros macroServices
}

// NewHandler returns the workflow API over store and the Temporal client.
func NewHandler(store *Store, temporal client.Client, verifier *authn.Verifier, log *slog.Logger, temporalUI, namespace string) *Handler {
	return &Handler{store: store, temporal: temporal, verifier: verifier, log: log, temporalUI: temporalUI, namespace: namespace}
}

// Routes returns the workflow API, to be mounted at Prefix.
func (h *Handler) Routes() http.Handler {
	r := chi.NewRouter()
	r.Use(h.verifier.Middleware(h.log))
	h.ticketRoutes(r)
	h.adminRoutes(r)
	h.webhookRoutes(r)
	h.macroRoutes(r)
	return r
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Error(w, r, h.log, err)
}
