package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// Limits of a webhook delivery run.
const (
	// webhookIdle is how long a run with nothing to deliver waits for the
	// next event before it ends; the next event starts a new run.
	webhookIdle = 10 * time.Minute
	// webhookRunDeliveries is how many deliveries one run makes before it
	// continues as new, which bounds its history (about seven events per
	// delivery and one per signal).
	webhookRunDeliveries = 1000
	// webhookSeenIDs is how many recent event IDs a run remembers to drop
	// duplicate signals.
	webhookSeenIDs = 512
	// webhookMaxAttempts bounds one delivery activity's attempts; the
	// failure window is what really ends them (at a 10-minute backoff, a
	// day is some 150 attempts).
	webhookMaxAttempts = 100000
)

// webhookEventNamespace derives the IDs of the events the webhook
// workflow publishes, so that a retried activity publishes once.
var webhookEventNamespace = uuid.MustParse("0d5f1c2e-8a7b-4d39-b2c1-6e4f3a9d7c58")

// WebhookWorkflow delivers the events of one webhook endpoint, one at a
// time in the order they were signalled, so a receiver sees the events of
// each ticket in order. Each delivery is an activity that Temporal retries
// with exponential backoff until the receiver answers 2xx; a delivery that
// keeps failing for the failure window disables the endpoint, gives up
// its pending deliveries and tells the admins. A run ends after a while
// without events and continues as new after a bounded number of
// deliveries.
func WebhookWorkflow(ctx workflow.Context, in WebhookInput) error {
	w := new(webhookRun)
	if err := w.setup(ctx, in); err != nil {
		return err
	}
	return w.run(ctx)
}

// webhookRun is one run's state and settings.
type webhookRun struct {
	in        WebhookInput
	s         WebhookState
	signals   workflow.ReceiveChannel
	delivered int // by this run
	signalled int // signals this run took
}

func (w *webhookRun) setup(ctx workflow.Context, in WebhookInput) error {
	if in.EndpointID == "" {
		return temporal.NewNonRetryableApplicationError("webhook workflow without an endpoint", ErrInvalidRequest, nil)
	}
	in.Settings = in.Settings.withDefaults()
	w.in = in
	if in.Carried != nil {
		w.s = *in.Carried
		w.in.Carried = nil
	}
	w.signals = workflow.GetSignalChannel(ctx, SignalWebhookEvent)
	return workflow.SetQueryHandler(ctx, QueryWebhookState, func() (WebhookState, error) { return w.s, nil })
}

func (w *webhookRun) run(ctx workflow.Context) error {
	log := workflow.GetLogger(ctx)
	for {
		w.drain()
		if len(w.s.Queue) == 0 {
			if w.shouldContinueAsNew(ctx) {
				return w.continueAsNew(ctx)
			}
			if !w.waitForEvent(ctx) {
				// A signal may have come with the timer: never end with
				// one unread.
				if w.drain(); len(w.s.Queue) == 0 {
					log.Info("webhook idle; run ends", "endpoint_id", w.in.EndpointID)
					return nil
				}
			}
			continue
		}
		head := w.s.Queue[0]
		err := w.deliver(ctx, head)
		var appErr *temporal.ApplicationError
		switch {
		case err == nil:
			w.s.Queue = w.s.Queue[1:]
			w.s.HeadSince = nil
			w.s.Delivered++
			w.delivered++
		case errors.Is(err, errRunFull):
			return w.continueAsNew(ctx)
		case errors.As(err, &appErr) && appErr.Type() == ErrWebhookInactive:
			log.Info("webhook turned off or deleted; giving up its deliveries", "endpoint_id", w.in.EndpointID)
			return w.drop(ctx, "the endpoint was turned off or deleted")
		case temporal.IsCanceledError(err):
			return err
		case w.windowLeft(ctx) > w.in.Settings.InitialInterval:
			// The activity gave up before the window ended (its attempts
			// are bounded too): try the same delivery again.
			continue
		default:
			// The retries ran out of the failure window.
			log.Warn("webhook kept failing; disabling it", "endpoint_id", w.in.EndpointID, "delivery_id", head.DeliveryID, "err", err)
			return w.disable(ctx, head, err)
		}
		if w.shouldContinueAsNew(ctx) {
			return w.continueAsNew(ctx)
		}
	}
}

// drain moves every signal already received into the queue.
func (w *webhookRun) drain() {
	for {
		var sig WebhookEventSignal
		if !w.signals.ReceiveAsync(&sig) {
			return
		}
		w.enqueue(sig)
	}
}

// enqueue appends a delivery unless its event was queued recently.
func (w *webhookRun) enqueue(sig WebhookEventSignal) {
	w.signalled++
	if sig.DeliveryID == "" || slices.Contains(w.s.Seen, sig.EventID) {
		return
	}
	w.s.Queue = append(w.s.Queue, sig)
	w.s.Seen = append(w.s.Seen, sig.EventID)
	if over := len(w.s.Seen) - webhookSeenIDs; over > 0 {
		w.s.Seen = slices.Delete(w.s.Seen, 0, over)
	}
}

// waitForEvent blocks until a signal arrives (true) or the run has been
// idle for webhookIdle (false).
func (w *webhookRun) waitForEvent(ctx workflow.Context) bool {
	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	got := false
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(w.signals, func(c workflow.ReceiveChannel, _ bool) {
		var sig WebhookEventSignal
		c.Receive(ctx, &sig)
		w.enqueue(sig)
		got = true
	})
	sel.AddFuture(workflow.NewTimer(timerCtx, webhookIdle), func(workflow.Future) {})
	sel.Select(ctx)
	return got
}

// deliver runs the delivery activity, retried with backoff within the
// failure window.
func (w *webhookRun) deliver(ctx workflow.Context, sig WebhookEventSignal) error {
	set := w.in.Settings
	if w.s.HeadSince == nil {
		now := workflow.Now(ctx)
		w.s.HeadSince = &now
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    set.AttemptTimeout + 5*time.Second,
		ScheduleToCloseTimeout: max(w.windowLeft(ctx), time.Second),
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        set.InitialInterval,
			BackoffCoefficient:     2,
			MaximumInterval:        set.MaxInterval,
			MaximumAttempts:        webhookMaxAttempts,
			NonRetryableErrorTypes: []string{ErrWebhookInactive},
		},
		WaitForCancellation: true,
	})
	// Signals keep arriving while an attempt waits for its retry (for
	// hours, if the receiver is down): they are queued meanwhile, and when
	// the run has taken so many that its history should be cut, the
	// activity is cancelled (after the attempt in flight) so the run can
	// continue as new; HeadSince carries the failure window over.
	actx, cancel := workflow.WithCancel(actx)
	defer cancel()
	fut := workflow.ExecuteActivity(actx, ActivityDeliverWebhook, DeliverWebhookInput{
		EndpointID: w.in.EndpointID, DeliveryID: sig.DeliveryID, Timeout: set.AttemptTimeout,
	})
	for {
		done := false
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(fut, func(workflow.Future) { done = true })
		sel.AddReceive(w.signals, func(c workflow.ReceiveChannel, _ bool) {
			var next WebhookEventSignal
			c.Receive(ctx, &next)
			w.enqueue(next)
		})
		sel.Select(ctx)
		if done {
			var res DeliverWebhookResult
			return fut.Get(ctx, &res)
		}
		if w.runFull(ctx) {
			cancel()
			var res DeliverWebhookResult
			if err := fut.Get(ctx, &res); err == nil {
				return nil // the attempt in flight went through
			}
			return errRunFull
		}
	}
}

// errRunFull is the outcome of a delivery cut short so that the run can
// continue as new.
var errRunFull = errors.New("webhook run full: continuing as new")

// runFull reports whether the run has taken so many signals (or grown so
// long a history) that it should continue as new.
func (w *webhookRun) runFull(ctx workflow.Context) bool {
	return w.signalled >= w.in.Settings.MaxRunSignals || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

// windowLeft is how much of the failure window the head delivery has
// left, counted from its first attempt.
func (w *webhookRun) windowLeft(ctx workflow.Context) time.Duration {
	if w.s.HeadSince == nil {
		return w.in.Settings.FailureWindow
	}
	return w.in.Settings.FailureWindow - workflow.Now(ctx).Sub(*w.s.HeadSince)
}

// bookkeeping is the activity options of the short store updates.
func bookkeeping(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	})
}

// disable turns the endpoint off; the store fails its pending deliveries
// and tells the admins. Signals still arriving are dropped with the run:
// the dispatcher sends none to an endpoint that is off.
func (w *webhookRun) disable(ctx workflow.Context, head WebhookEventSignal, cause error) error {
	now := workflow.Now(ctx)
	info := workflow.GetInfo(ctx)
	in := DisableWebhookInput{
		EndpointID: w.in.EndpointID,
		Reason: fmt.Sprintf("the receiver kept failing for %s (delivery %s): %s",
			w.in.Settings.FailureWindow, head.DeliveryID, rootMessage(cause)),
		EventID: uuid.NewSHA1(webhookEventNamespace, []byte(info.WorkflowExecution.RunID+"/disabled")).String(),
		At:      now,
	}
	if err := workflow.ExecuteActivity(bookkeeping(ctx), ActivityDisableWebhook, in).Get(ctx, nil); err != nil {
		return err
	}
	w.s.Disabled = true
	w.s.Queue = nil
	return nil
}

// drop gives up the pending deliveries of an endpoint that is off.
func (w *webhookRun) drop(ctx workflow.Context, reason string) error {
	err := workflow.ExecuteActivity(bookkeeping(ctx), ActivityDropWebhookDeliveries,
		DropWebhookDeliveriesInput{EndpointID: w.in.EndpointID, Reason: reason}).Get(ctx, nil)
	if err != nil {
		return err
	}
	w.s.Queue = nil
	return nil
}

func (w *webhookRun) shouldContinueAsNew(ctx workflow.Context) bool {
	return w.delivered >= webhookRunDeliveries || w.runFull(ctx)
}

// continueAsNew carries the queue, with every signal received so far, to
// a new run.
func (w *webhookRun) continueAsNew(ctx workflow.Context) error {
	w.drain()
	carried := w.s
	return workflow.NewContinueAsNewError(ctx, WebhookWorkflow, WebhookInput{
		EndpointID: w.in.EndpointID, Settings: w.in.Settings, Carried: &carried,
	})
}

// rootMessage is the message of the innermost error of err: for an
// activity error, what the activity said.
func rootMessage(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
