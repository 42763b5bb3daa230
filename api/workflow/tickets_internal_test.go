package workflow

import (
	"errors"
	"fmt"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/workflows"
)

// Each rejection of the workflow reaches the caller with its status and
// the validator's reason as the problem's detail.
func TestTemporalError_RejectionsKeepTheirReason(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		want apperr.Code
	}{
		{workflows.ErrUnknownStep, apperr.Unprocessable},
		{workflows.ErrIllegalTransition, apperr.Conflict},
		{workflows.ErrRoleNotAllowed, apperr.Unprocessable},
		{workflows.ErrTicketClosed, apperr.Conflict},
		{workflows.ErrNotAnAgent, apperr.Unprocessable},
		{workflows.ErrInvalidRequest, apperr.Unprocessable},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			reason := "the reason of " + tc.typ
			err := temporalError(fmt.Errorf("update: %w", temporal.NewApplicationError(reason, tc.typ)), "transition ticket x")
			var ae *apperr.Error
			if apperr.CodeOf(err) != tc.want || !errors.As(err, &ae) || ae.Message != reason {
				t.Fatalf("%v: code %q, want %q with message %q", err, apperr.CodeOf(err), tc.want, reason)
			}
		})
	}
}
