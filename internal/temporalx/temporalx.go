// Package temporalx connects Ticketflow's processes to Temporal: a client
// that logs through slog, a readiness check, and the typed search-attribute
// keys that every ticket workflow run carries so admins can find it in the
// Temporal UI.
package temporalx

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

// Dial connects to the Temporal frontend at address (host:port) for
// namespace, failing when the server does not answer before ctx ends. The
// SDK's own logs go to log under component=temporal. Close the client when done.
func Dial(ctx context.Context, address, namespace string, log *slog.Logger) (client.Client, error) {
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  address,
		Namespace: namespace,
		Logger:    tlog.NewStructuredLogger(log.With("component", "temporal")),
	})
	if err != nil {
		return nil, fmt.Errorf("dial temporal %s namespace %s: %w", address, namespace, err)
	}
	return c, nil
}

// CheckHealth reports whether the Temporal frontend behind c answers its
// health check; it is what /readyz asks.
func CheckHealth(ctx context.Context, c client.Client) error {
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("temporal health: %w", err)
	}
	return nil
}
