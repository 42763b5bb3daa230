package workflow

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/workflows"
)

// What a caller of a ticket's routes sees of each way Temporal can fail.
func TestTemporalError_MapsEngineFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want apperr.Code
	}{
		{"rejected transition", temporal.NewApplicationError("no", workflows.ErrIllegalTransition), apperr.Conflict},
		{"move the role may not make", temporal.NewApplicationError("no", workflows.ErrRoleNotAllowed), apperr.Unprocessable},
		{"no such run", serviceerror.NewNotFound("gone"), apperr.NotFound},
		{"run busy", serviceerror.NewResourceExhausted(0, "busy"), apperr.TooManyRequests},
		{"our own deadline", context.DeadlineExceeded, apperr.Unavailable},
		{"query no worker answered in time", serviceerror.NewDeadlineExceeded("query timed out before a worker could process it"), apperr.Unavailable},
		{"update not answered in time", client.NewWorkflowUpdateServiceTimeoutOrCanceledError(errors.New("context deadline exceeded")), apperr.Unavailable},
		{"server unreachable", serviceerror.NewUnavailable("connection refused"), apperr.Unavailable},
		{"no worker running", serviceerror.NewFailedPrecondition("no poller seen for task queue recently, worker may be down"), apperr.Unavailable},
		{"another precondition", serviceerror.NewFailedPrecondition("namespace is not active"), apperr.Internal},
		{"anything else", errors.New("bug"), apperr.Internal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := temporalError(fmt.Errorf("call: %w", tc.err), "transition ticket x")
			if code := apperr.CodeOf(got); code != tc.want {
				t.Errorf("code %q, want %q (%v)", code, tc.want, got)
			}
		})
	}
}
