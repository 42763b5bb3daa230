// Command ticketflow runs every part of Ticketflow: the HTTP services, the
// Temporal worker with its RabbitMQ consumers, migrations and admin tasks.
// Run `ticketflow --help` for the subcommands; configuration comes from the
// environment (see the README).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "ticketflow:", err)
		stop()
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "ticketflow",
		Short: "Ticketflow: a help desk whose every ticket is a durable Temporal workflow",
		Long: `Ticketflow runs as one binary with a subcommand per process.

  dev      every service, the worker and the outbox relays in one process on :8080
  serve    one HTTP service (auth, helpdesk, workflow, messaging, notification)
  worker   the Temporal worker and the RabbitMQ consumers
  migrate  bring every service's database schema up to date
  admin    bootstrap and maintenance tasks (first admin, service accounts, keys)
  setup    one-time setup of a real deployment (Temporal search attributes)

Configuration comes from environment variables with working local defaults;
the README lists every one.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newDevCommand(), newServeCommand(), newWorkerCommand(), newMigrateCommand(), newAdminCommand(), newSetupCommand())
	root.AddCommand(newLoadCommand())
	root.AddCommand(newHealthcheckCommand())
	return root
}
