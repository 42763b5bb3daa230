package workers

import (
	"context"
	"errors"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ticketflow/ticketflow/internal/rabbitmq"
)

// temporalFailure marks err, an error of a call to Temporal, as the
// failure of an unavailable dependency when Temporal could not be reached
// or did not answer in time, so that the consumer holds the event until
// Temporal is back instead of spending the event's deliveries (and, after
// a long enough outage, dead-lettering a ticket that then never gets its
// workflow). Any other error is returned as it is.
func temporalFailure(err error) error {
	var (
		unavailable *serviceerror.Unavailable
		deadline    *serviceerror.DeadlineExceeded
		exhausted   *serviceerror.ResourceExhausted
	)
	switch {
	case err == nil:
		return nil
	case errors.As(err, &unavailable), errors.As(err, &deadline), errors.As(err, &exhausted),
		errors.Is(err, context.DeadlineExceeded):
		return rabbitmq.Unavailable(err)
	}
	switch status.Code(err) { // a gRPC status anywhere in the chain
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		return rabbitmq.Unavailable(err)
	}
	return err
}
