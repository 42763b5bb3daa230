package auth

import (
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/cursor"
	"github.com/ticketflow/ticketflow/internal/httpx"
)

// Prefix is where the auth API lives, behind the gateway and in `ticketflow dev`.
const Prefix = "/auth"

// Handler serves the auth API.
type Handler struct {
	svc        *Service
	keys       *KeyStore
	verifier   *authn.Verifier
	cursors    *cursor.Codec
	log        *slog.Logger
	trustProxy bool
	// publicHTTPS makes refresh cookies Secure whatever the request says.
	publicHTTPS bool
}

// NewHandler returns the HTTP handler of svc. trustProxy makes the client
// address for rate limits come from the gateway's X-Real-IP header.
func NewHandler(svc *Service, keys *KeyStore, verifier *authn.Verifier, cursors *cursor.Codec, log *slog.Logger, trustProxy bool) *Handler {
	return &Handler{svc: svc, keys: keys, verifier: verifier, cursors: cursors, log: log, trustProxy: trustProxy}
}

// Routes returns the auth API, to be mounted at Prefix.
func (h *Handler) Routes() http.Handler {
	r := chi.NewRouter()
	ui := newTemporalSessions(h)
	r.Post("/register", h.register)
	r.Post("/login", h.login)
	r.Post("/refresh", h.refresh)
	r.Post("/logout", h.logout)
	r.Post("/token", h.serviceToken)
	r.Post("/password-reset", h.requestPasswordReset)
	r.Post("/password-reset/confirm", h.confirmPasswordReset)
	r.Get("/.well-known/jwks.json", h.jwks)
	r.Get("/verify-admin", ui.verifyAdmin)
	r.Group(func(r chi.Router) {
		r.Use(h.verifier.Middleware(h.log))
		r.Get("/me", h.me)
		r.Group(func(r chi.Router) {
			r.Use(authn.RequireRole(h.log, authn.RoleAdmin))
			r.Get("/users", h.listUsers)
			r.Get("/users/{id}", h.getUser)
			r.Patch("/users/{id}", h.patchUser)
			r.Post("/temporal-session", ui.create)
		})
		// Only services: mail-in asks for the account of an e-mail's sender.
		r.Group(func(r chi.Router) {
			r.Use(authn.RequireRole(h.log, authn.RoleService))
			r.Post("/internal/mail-senders", h.mailSender)
		})
	})
	return r
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpx.Error(w, r, h.log, err)
}

// clientAddr is the address rate limits count against: the peer, or the
// gateway's X-Real-IP when the peer is a trusted proxy.
func (h *Handler) clientAddr(r *http.Request) string {
	if h.trustProxy {
		if ip := strings.TrimSpace(r.Header.Get("X-Real-IP")); net.ParseIP(ip) != nil {
			return ip
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (h *Handler) jwks(w http.ResponseWriter, r *http.Request) {
	set, err := h.keys.JWKS(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	httpx.JSON(w, http.StatusOK, set)
}
