package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ticketflow/ticketflow/internal/temporalx"
)

func newSetupCommand() *cobra.Command {
	setup := &cobra.Command{
		Use:   "setup",
		Short: "One-time setup of a real deployment's dependencies",
	}
	setup.AddCommand(&cobra.Command{
		Use:   "temporal",
		Short: "Register the ticket search attributes in TEMPORAL_NAMESPACE (idempotent)",
		Long: `setup temporal registers the custom search attributes every ticket run carries
(TicketId, TicketStatus, TicketPriority, TicketCategory, AssigneeId, SlaBreached)
in TEMPORAL_NAMESPACE of the cluster at TEMPORAL_ADDRESS, so admins can filter
runs in the Temporal UI. The dev server of make run registers them itself.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := loadApp()
			if err != nil {
				return err
			}
			defer app.Close()
			tc, err := app.Temporal(cmd.Context())
			if err != nil {
				return err
			}
			if err := temporalx.EnsureSearchAttributes(cmd.Context(), tc, app.Config.TemporalNamespace); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "search attributes registered in namespace %s\n", app.Config.TemporalNamespace)
			return nil
		},
	})
	return setup
}
