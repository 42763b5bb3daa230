package notification

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/postgres"
)

// SenderOptions tune the e-mail sender loop; zero values take the defaults.
type SenderOptions struct {
	// PollInterval is how often the loop looks for due e-mails when the
	// consumer did not wake it: for retries, and for e-mails queued by
	// another replica. Default 5s.
	PollInterval time.Duration
	// MinBackoff and MaxBackoff bound the pause before retrying an e-mail
	// after a transient failure, doubled with each attempt. Defaults 30s
	// and 1h.
	MinBackoff, MaxBackoff time.Duration
	// MaxAttempts is how often an e-mail is tried before it is recorded
	// as failed. Default 8, which with the default backoffs spans about an
	// hour.
	MaxAttempts int
	// SendTimeout bounds one attempt. Default 30s.
	SendTimeout time.Duration
}

func (o *SenderOptions) setDefaults() {
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 30 * time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(time.Hour, o.MinBackoff)
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 30 * time.Second
	}
}

// The outcomes of a delivery attempt, as the delivery log records them.
const (
	outcomeSent   = "sent"   // the transport took the message
	outcomeRetry  = "retry"  // a transient failure; tried again later
	outcomeFailed = "failed" // a permanent failure, or the last attempt
)

// The statuses of a delivery (and statusHeld, see holdEmail).
const (
	statusQueued = "queued"
	statusSent   = "sent"
	statusFailed = "failed"
)

// attempt is the verdict on one try to send a delivery.
type attempt struct {
	outcome string
	detail  string
	// retryIn is the pause before the next try, for outcomeRetry.
	retryIn time.Duration
}

// RunSender sends the queued e-mails until ctx is done, then returns nil.
// It sends whenever the consumer queued e-mail, and at least every
// PollInterval, when retries come due. Replicas may run it side by side:
// each e-mail is locked by the one sending it (FOR UPDATE SKIP LOCKED).
func (s *Service) RunSender(ctx context.Context) error {
	poll := time.NewTicker(s.sender.PollInterval)
	defer poll.Stop()
	var swept time.Time
	for {
		if time.Since(swept) >= staleHeldSweep {
			swept = time.Now()
			s.sweepStaleHeld(ctx)
		}
		s.sendDue(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-poll.C:
		}
	}
}

// sweepStaleHeld gives up the e-mails held too long for an address that
// never came (see holdEmail).
func (s *Service) sweepStaleHeld(ctx context.Context) {
	n, err := giveUpStaleHeld(ctx, s.pool)
	if err != nil {
		s.log.Warn("e-mail sender could not give up stale held e-mails; trying again later", "err", err)
		return
	}
	if n > 0 {
		s.log.Warn("held e-mails given up: their recipients' addresses never came", "count", n)
	}
}

// wakeSender has the sender loop look for due e-mails now; one pending
// wake-up is enough however many e-mails were queued.
func (s *Service) wakeSender() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// sendDue sends the e-mails due now, one after the other, until none is
// left, ctx is done or the database fails (then the next poll tries again).
func (s *Service) sendDue(ctx context.Context) {
	for ctx.Err() == nil {
		more, err := s.sendNext(ctx)
		if err != nil {
			s.log.Warn("e-mail sender failed; trying again at the next poll", "err", err)
			return
		}
		if !more {
			return
		}
	}
}

// sendNext sends the e-mail due first and records the attempt, in one
// transaction that holds the delivery's row lock throughout, so no other
// replica sends it meanwhile. It reports whether there was one to send.
func (s *Service) sendNext(ctx context.Context) (bool, error) {
	// An attempt under way is finished and recorded even when shutdown
	// begins: abandoned halfway, a sent e-mail would go out again.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.sender.SendTimeout+10*time.Second)
	defer cancel()
	found := false
	err := postgres.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		d, ok, err := nextDueDelivery(ctx, tx)
		if err != nil || !ok {
			return err
		}
		found = true
		sendCtx, cancelSend := context.WithTimeout(ctx, s.sender.SendTimeout)
		sendErr := s.mailer.Send(sendCtx, d.message)
		cancelSend()
		a := s.judge(d, sendErr)
		s.logAttempt(d, a)
		return recordAttempt(ctx, tx, d.id, a)
	})
	return found, err
}

// judge turns the result of sending d into the attempt to record.
func (s *Service) judge(d delivery, err error) attempt {
	tries := d.attempts + 1
	switch {
	case err == nil:
		return attempt{outcome: outcomeSent}
	case errors.Is(err, ErrPermanent):
		return attempt{outcome: outcomeFailed, detail: err.Error()}
	case tries >= s.sender.MaxAttempts:
		return attempt{outcome: outcomeFailed, detail: fmt.Sprintf("gave up after %d attempts: %v", tries, err)}
	default:
		return attempt{outcome: outcomeRetry, detail: err.Error(), retryIn: s.sender.backoff(tries)}
	}
}

// backoff is the pause after the given number of failed attempts:
// MinBackoff doubled for each attempt after the first, at most MaxBackoff,
// less up to a tenth at random so that e-mails failed together do not
// retry in lockstep.
func (o SenderOptions) backoff(attempts int) time.Duration {
	d := o.MinBackoff
	for i := 1; i < attempts && d < o.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, o.MaxBackoff)
	return d - time.Duration(rand.Int64N(int64(d)/10+1))
}

func (s *Service) logAttempt(d delivery, a attempt) {
	log := s.log.With("delivery_id", d.id, "notification_id", d.notificationID, "user_id", d.userID, "attempt", d.attempts+1)
	switch a.outcome {
	case outcomeSent:
		log.Info("e-mail sent")
	case outcomeRetry:
		log.Warn("e-mail not sent; will retry", "err", a.detail, "retry_in", a.retryIn)
	default:
		log.Error("e-mail failed for good", "err", a.detail)
	}
}
