package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/ticketflow/ticketflow/api/auth"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/config"
	"github.com/ticketflow/ticketflow/internal/httpx"
	"github.com/ticketflow/ticketflow/internal/logging"
	"github.com/ticketflow/ticketflow/internal/postgres"
	"github.com/ticketflow/ticketflow/internal/rabbitmq"
)

// App holds the shared connections of one ticketflow process and the
// services it runs. It is built by the subcommands and by the end-to-end
// tests, which run the whole program in-process.
type App struct {
	Config config.Config
	Log    *slog.Logger

	mu        sync.Mutex
	pools     map[string]*pgxpool.Pool
	redis     *redis.Client
	publisher *rabbitmq.Publisher
	closers   []func()

	// devURL is the base URL of `ticketflow dev`, where every service lives;
	// empty when the process runs one service.
	devURL string
	// authSvc and authKeys are set when this process runs auth: then tokens
	// are verified against its keys directly, and service tokens come
	// from it without a round trip.
	authSvc  *auth.Service
	authKeys *auth.KeyStore
	verifier *authn.Verifier
	tokens   authn.TokenSource
	temporal client.Client
}

// NewApp returns an app for cfg; connections are opened on first use.
func NewApp(cfg config.Config, log *slog.Logger) *App {
	return &App{Config: cfg, Log: log, pools: map[string]*pgxpool.Pool{}}
}

// loadApp reads the configuration and sets up logging, as every subcommand does.
func loadApp() (*App, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	log := logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel)
	log.Info("configuration", "config", cfg)
	return NewApp(cfg, log), nil
}

// Pool returns the pool of a service's schema, opening it on first use.
func (a *App) Pool(ctx context.Context, schema string) (*pgxpool.Pool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p, ok := a.pools[schema]; ok {
		return p, nil
	}
	p, err := postgres.Open(ctx, a.Config.DatabaseURLFor(schema), schema, a.Config.DatabaseMaxConns)
	if err != nil {
		return nil, fmt.Errorf("%s database: %w", schema, err)
	}
	a.pools[schema] = p
	a.closers = append(a.closers, p.Close)
	return p, nil
}

// Redis returns the shared Redis client.
func (a *App) Redis() (*redis.Client, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.redis != nil {
		return a.redis, nil
	}
	opts, err := redis.ParseURL(a.Config.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	a.redis = redis.NewClient(opts)
	a.closers = append(a.closers, func() { _ = a.redis.Close() })
	return a.redis, nil
}

// Publisher returns the shared RabbitMQ publisher (with publisher confirms)
// that the outbox relays use.
func (a *App) Publisher() *rabbitmq.Publisher {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.publisher == nil {
		a.publisher = rabbitmq.NewPublisher(a.Config.AMQPURL, a.Config.AMQPExchange, a.Log, rabbitmq.WithQueues(a.queues()...))
		a.closers = append(a.closers, func() { _ = a.publisher.Close() })
	}
	return a.publisher
}

// Close releases every connection, newest first.
func (a *App) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// ServiceURL returns the base URL of a service: the process's own in
// `ticketflow dev`, the configured one otherwise.
func (a *App) ServiceURL(name string) string {
	if a.devURL != "" {
		return a.devURL
	}
	switch name {
	case "auth":
		return a.Config.AuthURL
	case "helpdesk":
		return a.Config.HelpdeskURL
	case "workflow":
		return a.Config.WorkflowURL
	case "messaging":
		return a.Config.MessagingURL
	}
	panic("no URL configured for service " + name)
}

// Verifier returns the access-token verifier of this process: against the
// auth keys in-process when it runs auth, against JWKS_URL otherwise.
func (a *App) Verifier() *authn.Verifier {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.verifier == nil {
		var src authn.KeySource = a.authKeys
		if a.authKeys == nil {
			src = authn.NewHTTPKeySource(a.Config.JWKSURL, &http.Client{Timeout: 10 * time.Second})
		}
		a.verifier = authn.NewVerifier(src, a.Config.JWTIssuer, a.Config.JWTAudience)
	}
	return a.verifier
}

// ServiceTokens returns the source of this process's service tokens, for
// calls to other services. With SERVICE_CLIENT_ID set it asks auth for them;
// in development without it, a process that runs auth provisions the
// service account "ticketflow-dev" with a fresh secret at start.
func (a *App) ServiceTokens(ctx context.Context) (authn.TokenSource, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.tokens != nil {
		return a.tokens, nil
	}
	id, secret := a.Config.ServiceClientID, a.Config.ServiceClientSecret
	if id == "" {
		if a.authSvc == nil || a.Config.Env != "development" {
			return nil, errors.New("SERVICE_CLIENT_ID and SERVICE_CLIENT_SECRET are required to call other services (ticketflow admin service-account)")
		}
		id = "ticketflow-dev"
		var err error
		if secret, err = a.authSvc.SetServiceAccount(ctx, id, ""); err != nil {
			return nil, fmt.Errorf("provision development service account: %w", err)
		}
	}
	authURL := a.Config.AuthURL
	if a.devURL != "" {
		authURL = a.devURL
	}
	a.tokens = authn.NewServiceTokenSource(authURL, id, secret, &http.Client{Timeout: 10 * time.Second})
	return a.tokens, nil
}

// component is one service as a process runs it: its HTTP API under its
// path prefix, its readiness checks and its background loops (outbox
// relays, consumers).
type component struct {
	name    string
	prefix  string
	handler http.Handler
	checks  []httpx.Check
	loops   []func(ctx context.Context) error
}

// runComponents serves the components' APIs on ln under their prefixes
// and runs their loops, until ctx ends or one of them fails; then it drains
// HTTP and waits for every loop to stop. ready, when not nil, is told the
// bound address.
func (a *App) runComponents(ctx context.Context, ln net.Listener, comps []component, ready func(net.Addr)) error {
	var checks []httpx.Check
	for _, c := range comps {
		checks = append(checks, c.checks...)
	}
	router := httpx.NewRouter(a.Log, httpx.RouterOptions{
		MaxBodyBytes: a.Config.MaxBodyBytes,
		Timeout:      a.Config.RequestTimeout,
		Checks:       checks,
	})
	for _, c := range comps {
		if c.handler != nil {
			router.Mount(c.prefix, c.handler)
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return httpx.Serve(ctx, a.Log, ln, router, a.Config.ShutdownGrace, ready) })
	for _, c := range comps {
		for _, loop := range c.loops {
			g.Go(func() error {
				if err := loop(ctx); err != nil && !errors.Is(err, context.Canceled) {
					return fmt.Errorf("%s: %w", c.name, err)
				}
				return nil
			})
		}
	}
	return g.Wait()
}
