package outbox

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/ticketflow/ticketflow/internal/events"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

func TestClaim_FirstTimeOnlyPerConsumer(t *testing.T) {
	t.Parallel()
	pool := migrated(t)
	ctx := t.Context()
	id := uuid.NewString()

	for i, want := range []bool{true, false, false} {
		first, err := Claim(ctx, pool, "notification", id)
		if err != nil || first != want {
			t.Fatalf("claim %d = %v, %v; want %v", i+1, first, err, want)
		}
	}
	// Each consumer keeps its own record of the same event.
	if first, err := Claim(ctx, pool, "workflow", id); err != nil || !first {
		t.Fatalf("claim by another consumer = %v, %v; want true", first, err)
	}
	if first, err := Claim(ctx, pool, "notification", uuid.NewString()); err != nil || !first {
		t.Fatalf("claim of another event = %v, %v; want true", first, err)
	}
}

func TestClaim_RollsBackWithTheWork(t *testing.T) {
	t.Parallel()
	pool := migrated(t)
	ctx := t.Context()
	id := uuid.NewString()

	workFailed := errors.New("work failed")
	err := postgres.InTx(ctx, pool, func(tx pgx.Tx) error {
		first, err := Claim(ctx, tx, "helpdesk", id)
		if err != nil || !first {
			t.Fatalf("Claim = %v, %v", first, err)
		}
		return workFailed
	})
	if !errors.Is(err, workFailed) {
		t.Fatal(err)
	}
	// The redelivery finds no claim and does the work.
	err = postgres.InTx(ctx, pool, func(tx pgx.Tx) error {
		first, err := Claim(ctx, tx, "helpdesk", id)
		if err != nil || !first {
			t.Fatalf("Claim after rollback = %v, %v; want true", first, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if first, err := Claim(ctx, pool, "helpdesk", id); err != nil || first {
		t.Fatalf("Claim after commit = %v, %v; want false", first, err)
	}
}

func TestClaim_ConcurrentDeliveriesOnlyOneWins(t *testing.T) {
	t.Parallel()
	pool := migrated(t)
	id := uuid.NewString()

	var wins atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			errs <- postgres.InTx(t.Context(), pool, func(tx pgx.Tx) error {
				first, err := Claim(t.Context(), tx, "workflow", id)
				if first {
					wins.Add(1)
				}
				return err
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("claim: %v", err)
		}
	}
	if got := wins.Load(); got != 1 {
		t.Fatalf("%d concurrent claims won, want 1", got)
	}
}

func TestClaim_RejectsBadInput(t *testing.T) {
	t.Parallel()
	pool := migrated(t)
	if _, err := Claim(t.Context(), pool, "workflow", "not-a-uuid"); !errors.Is(err, events.ErrInvalid) {
		t.Errorf("Claim of a non-UUID id = %v, want ErrInvalid", err)
	}
	if _, err := Claim(t.Context(), pool, "", uuid.NewString()); err == nil {
		t.Error("Claim without a consumer name succeeded")
	}
}
