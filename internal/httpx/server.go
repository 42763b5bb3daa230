// Package httpx is the HTTP kit every Ticketflow service is built on: a chi
// router with request IDs, structured access logs, panic recovery, timeouts
// and body limits; health and readiness probes; JSON decoding that rejects
// hostile input; and errors as RFC 9457 problem documents.
package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/logging"
)

// Check is one readiness check: a dependency that must answer.
type Check struct {
	Name string
	Ping func(ctx context.Context) error
}

// RouterOptions tune NewRouter.
type RouterOptions struct {
	// MaxBodyBytes caps every request body; larger bodies get 413.
	MaxBodyBytes int64
	// Timeout bounds each request's context.
	Timeout time.Duration
	// Checks are run by /readyz.
	Checks []Check
}

// NewRouter returns a chi router with Ticketflow's middleware stack and the
// /healthz and /readyz probes. Unknown routes and methods answer with problem
// documents. A route may raise the body limit for itself with WithBodyLimit;
// upgraded connections (WebSockets) are not bound by the request timeout.
func NewRouter(log *slog.Logger, opts RouterOptions) *chi.Mux {
	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Use(AccessLog(log))
	r.Use(Recover(log))
	r.Use(CleanQuery(log))
	if opts.MaxBodyBytes > 0 {
		r.Use(defaultBodyLimit(opts.MaxBodyBytes))
	}
	if opts.Timeout > 0 {
		r.Use(exceptUpgrades(middleware.Timeout(opts.Timeout)))
	}
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		Error(w, r, log, apperr.New(apperr.NotFound, "no such route"))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		Error(w, r, log, apperr.New(apperr.NotAllowed, "method not allowed"))
	})
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", Ready(log, opts.Checks))
	return r
}

// Ready answers 200 when every check passes and 503 naming the failing ones.
func Ready(log *slog.Logger, checks []Check) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		results := make(map[string]string, len(checks))
		var mu sync.Mutex
		var wg sync.WaitGroup
		failed := false
		for _, c := range checks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status := "ok"
				if err := c.Ping(ctx); err != nil {
					logging.FromContext(r.Context(), log).Warn("readiness check failed", "check", c.Name, "err", err)
					status = "unavailable"
				}
				mu.Lock()
				defer mu.Unlock()
				results[c.Name] = status
				failed = failed || status != "ok"
			}()
		}
		wg.Wait()
		status := http.StatusOK
		if failed {
			status = http.StatusServiceUnavailable
		}
		JSON(w, status, map[string]any{"status": http.StatusText(status), "checks": results})
	}
}

// AccessLog puts a logger carrying the request ID into the request context,
// echoes the ID in X-Request-Id so a user can quote it, and logs each
// request once it is answered.
func AccessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			id := middleware.GetReqID(r.Context())
			w.Header().Set("X-Request-Id", id)
			l := log.With("request_id", id)
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r.WithContext(logging.WithLogger(r.Context(), l)))
			if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
				return
			}
			l.Info("http request", "method", r.Method, "path", r.URL.Path, "status", ww.Status(),
				"bytes", ww.BytesWritten(), "duration_ms", time.Since(start).Milliseconds())
		})
	}
}

// Recover turns a panic into a logged 500 problem instead of a dropped
// connection.
func Recover(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					Error(w, r, log, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// exceptUpgrades applies mw to every request but protocol upgrades: a
// WebSocket lives far longer than any request, and a timeout would cancel
// its context (and answer 504 on a hijacked connection) mid-conversation.
func exceptUpgrades(mw func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		wrapped := mw(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isUpgrade(r) {
				next.ServeHTTP(w, r)
				return
			}
			wrapped.ServeHTTP(w, r)
		})
	}
}

// isUpgrade reports whether r asks to switch protocols (RFC 9110, 7.8).
func isUpgrade(r *http.Request) bool {
	if r.Header.Get("Upgrade") == "" {
		return false
	}
	for _, v := range r.Header.Values("Connection") {
		for _, token := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(token), "upgrade") {
				return true
			}
		}
	}
	return false
}

// defaultBody is a request body under the router's default limit. It
// keeps the original body, so a route with a limit of its own (see
// WithBodyLimit) can replace the default one before anything is read.
type defaultBody struct {
	limited io.ReadCloser
	orig    io.ReadCloser
	// tooLarge is set when the declared length is over the limit: the
	// first read fails, as MaxBytesReader's would, without reading.
	tooLarge *http.MaxBytesError
}

func (b *defaultBody) Read(p []byte) (int, error) {
	if b.tooLarge != nil {
		return 0, b.tooLarge
	}
	return b.limited.Read(p)
}

func (b *defaultBody) Close() error { return b.limited.Close() }

// defaultBodyLimit caps every request body at n bytes, like LimitBody,
// except that a body declared too large fails when it is read rather than
// at once, so that WithBodyLimit further down can still lift the cap.
func defaultBodyLimit(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b := &defaultBody{limited: http.MaxBytesReader(w, r.Body, n), orig: r.Body}
			if r.ContentLength > n {
				b.tooLarge = &http.MaxBytesError{Limit: n}
			}
			r.Body = b
			next.ServeHTTP(w, r)
		})
	}
}

// WithBodyLimit gives a route a body limit of its own, n bytes, in place
// of the router's default (MaxBodyBytes): for the few routes that take
// large bodies, such as file uploads. Mount it on the route itself:
//
//	r.With(httpx.WithBodyLimit(25<<20)).Post("/attachments", upload)
func WithBodyLimit(n int64) func(http.Handler) http.Handler {
	limit := LimitBody(n)
	return func(next http.Handler) http.Handler {
		limited := limit(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if b, ok := r.Body.(*defaultBody); ok {
				r.Body = b.orig
			}
			limited.ServeHTTP(w, r)
		})
	}
}

// CleanQuery refuses, with 400, a query string that is not valid UTF-8 or
// holds a NUL: PostgreSQL rejects such text, so it would otherwise surface
// as a 500 from whichever handler passed it on.
func CleanQuery(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for name, values := range r.URL.Query() {
				for _, v := range append(values, name) {
					if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
						Error(w, r, log, apperr.New(apperr.Invalid, "the query string must be UTF-8 text without NUL characters"))
						return
					}
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// LimitBody caps the request body at n bytes; reading past it fails with
// *http.MaxBytesError, which Decode maps to 413. Under the router's
// default limit the lower of the two applies.
func LimitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				Error(w, r, nil, apperr.New(apperr.TooLarge, "request body is too large"))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}

// The server's timeouts. A client must send its request line and headers
// within ReadHeaderTimeout (slowloris), and its body without pausing
// BodyIdleTimeout and within BodyReadTimeout in all: a body dribbled a
// byte at a time cannot hold a connection and a goroutine for long. The
// request context's timeout (RouterOptions.Timeout) does not reach a
// handler blocked reading the body, hence these. Upgraded connections
// (WebSockets) have deadlines of their own and are not bound by them.
const (
	ReadHeaderTimeout = 10 * time.Second
	BodyIdleTimeout   = 30 * time.Second
	BodyReadTimeout   = 5 * time.Minute
	IdleTimeout       = 120 * time.Second
)

// timeouts are a server's; tests shorten them.
type timeouts struct {
	header, bodyIdle, body, idle time.Duration
}

// Serve runs h on ln until ctx is cancelled, then drains in-flight
// requests for up to grace before closing. It returns once the server has
// stopped. ready, when not nil, receives the bound address.
func Serve(ctx context.Context, log *slog.Logger, ln net.Listener, h http.Handler, grace time.Duration, ready func(net.Addr)) error {
	return serve(ctx, log, ln, h, grace, ready, timeouts{
		header: ReadHeaderTimeout, bodyIdle: BodyIdleTimeout, body: BodyReadTimeout, idle: IdleTimeout,
	})
}

func serve(ctx context.Context, log *slog.Logger, ln net.Listener, h http.Handler, grace time.Duration, ready func(net.Addr), to timeouts) error {
	srv := &http.Server{
		Handler:           bodyDeadlines(h, to.bodyIdle, to.body),
		ReadHeaderTimeout: to.header,
		IdleTimeout:       to.idle,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if ready != nil {
		ready(ln.Addr())
	}
	log.Info("http server listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("drain http server: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("http server stopped", "addr", ln.Addr().String())
	return nil
}

// bodyDeadlines bounds the reading of every request body (see
// BodyIdleTimeout). http.Server's own ReadTimeout would not do: it counts
// from the first byte of the request and applies to upgraded connections
// and slow handlers alike.
func bodyDeadlines(next http.Handler, idle, total time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || isUpgrade(r) {
			next.ServeHTTP(w, r)
			return
		}
		r.Body = &deadlineBody{
			ReadCloser: r.Body,
			rc:         http.NewResponseController(w),
			idle:       idle,
			end:        time.Now().Add(total),
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody sets the connection's read deadline before each read of
// the body, until the body's end. From there the server reads the
// connection in the background (with no deadline) to learn whether the
// client went away: a deadline set then, by a handler reading again past
// EOF as json.Decoder does, would cancel a slow handler's context.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
	end  time.Time
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.done {
		return b.ReadCloser.Read(p)
	}
	deadline := time.Now().Add(b.idle)
	if deadline.After(b.end) {
		deadline = b.end
	}
	_ = b.rc.SetReadDeadline(deadline)
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) {
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
