package main

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// servicePorts are the development ports of `ticketflow serve`.
var servicePorts = map[string]string{
	"auth":         "127.0.0.1:8081",
	"helpdesk":     "127.0.0.1:8082",
	"workflow":     "127.0.0.1:8083",
	"messaging":    "127.0.0.1:8084",
	"notification": "127.0.0.1:8085",
}

// serviceNames lists the services in start order.
var serviceNames = []string{"auth", "helpdesk", "workflow", "messaging", "notification"}

func newDevCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "dev",
		Short: "Run every service, the worker and the outbox relays in one process (default :8080)",
		Long: `dev runs the whole of Ticketflow in one process, for development: every HTTP
service under the same path prefixes as behind the gateway (/auth/, /helpdesk/,
/workflow/, /messaging/, /notifications/), the outbox relays that publish their
events, and the Temporal worker with its consumers. Each service migrates its
schema at start. It listens on HTTP_ADDR (default 127.0.0.1:8080).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := loadApp()
			if err != nil {
				return err
			}
			defer app.Close()
			return app.RunDev(cmd.Context(), nil)
		},
	}
}

// RunDev runs every built service in one process until ctx ends.
func (a *App) RunDev(ctx context.Context, ready func(net.Addr)) error {
	addr := a.Config.HTTPAddr
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	defer ln.Close()
	a.devURL = "http://" + ln.Addr().String()
	var comps []component
	for _, name := range serviceNames {
		c, err := a.component(ctx, name)
		if err == errNotBuilt {
			continue
		}
		if err != nil {
			return err
		}
		comps = append(comps, c)
	}
	worker, err := a.workerComponent(ctx)
	if err != nil {
		return err
	}
	comps = append(comps, worker, a.webComponent())
	return a.runComponents(ctx, ln, a.withPprof(comps), ready)
}

func newServeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "serve <" + strings.Join(serviceNames, "|") + ">",
		Short: "Run one HTTP service (ports 8081–8085 by default)",
		Long: `serve runs one HTTP service with its outbox relay, under the same path prefix
as behind the gateway. It migrates the service's schema at start and listens on
HTTP_ADDR, by default: auth 8081, helpdesk 8082, workflow 8083, messaging 8084,
notification 8085. Run several with different HTTP_ADDR values to scale out.`,
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		ValidArgs: serviceNames,
		RunE: func(cmd *cobra.Command, args []string) error {
			app, err := loadApp()
			if err != nil {
				return err
			}
			defer app.Close()
			return app.Serve(cmd.Context(), args[0], nil)
		},
	}
}

// Serve runs one service until ctx ends.
func (a *App) Serve(ctx context.Context, name string, ready func(net.Addr)) error {
	if !slices.Contains(serviceNames, name) {
		return fmt.Errorf("unknown service %q", name)
	}
	c, err := a.component(ctx, name)
	if err == errNotBuilt {
		return fmt.Errorf("the %s service is not part of this build yet", name)
	}
	if err != nil {
		return err
	}
	addr := a.Config.HTTPAddr
	if addr == "" {
		addr = servicePorts[name]
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	defer ln.Close()
	return a.runComponents(ctx, ln, a.withPprof([]component{c}), ready)
}

func newWorkerCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run the Temporal worker and the RabbitMQ consumers",
		Long: `worker hosts the Temporal worker of TicketWorkflow (task queue TEMPORAL_TASK_QUEUE)
and the RabbitMQ consumers that start workflows and deliver notifications.
With IMAP_URL set it also polls that mailbox for inbound e-mail (each message
an InboundMailWorkflow). Scale out by running more workers on the same task
queue.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := loadApp()
			if err != nil {
				return err
			}
			defer app.Close()
			return app.RunWorker(cmd.Context(), nil)
		},
	}
}

// RunWorker runs the Temporal worker and the consumers until ctx ends,
// with /healthz and /readyz on HTTP_ADDR (default 127.0.0.1:8090).
func (a *App) RunWorker(ctx context.Context, ready func(net.Addr)) error {
	c, err := a.workerComponent(ctx)
	if err != nil {
		return err
	}
	addr := a.Config.HTTPAddr
	if addr == "" {
		addr = "127.0.0.1:8090"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	defer ln.Close()
	return a.runComponents(ctx, ln, a.withPprof([]component{c}), ready)
}

func newMigrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Bring every service's database schema up to date and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := loadApp()
			if err != nil {
				return err
			}
			defer app.Close()
			return app.MigrateAll(cmd.Context())
		},
	}
}
