package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/ticketflow/ticketflow/api/auth"
	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/authn"
	"github.com/ticketflow/ticketflow/internal/testenv"
)

// BenchmarkLogin_Failures compares a wrong password with an unknown e-mail:
// both must cost about the same, so timing does not tell which accounts
// exist. Run with: go test -run x -bench Login_Failures ./api/auth/
func BenchmarkLogin_Failures(b *testing.B) {
	ctx := context.Background()
	pool, _ := testenv.Schema(b, "authbench")
	if err := auth.Migrate(ctx, pool); err != nil {
		b.Fatal(err)
	}
	keys := auth.NewKeyStore(pool, 15*time.Minute, 0)
	if err := keys.Ensure(ctx, 0); err != nil {
		b.Fatal(err)
	}
	rdb, prefix := testenv.Redis(b)
	limiter := auth.NewLoginLimiter(rdb, prefix, 1<<30, 1<<30, time.Minute)
	svc := auth.NewService(pool, keys, limiter, auth.Config{Issuer: issuer, Audience: audience, AccessTTL: 15 * time.Minute, RefreshTTL: time.Hour}, testenv.Logger(b))
	if _, err := svc.CreateUser(ctx, auth.NewUser{Email: "known@example.com", Password: "the right password", Name: "Known", Role: authn.RoleEmployee}); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, email string }{
		{"wrong_password", "known@example.com"},
		{"unknown_email", "unknown@example.com"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.Login(ctx, c.email, "a wrong password", "10.9.9.9"); !apperr.Is(err, apperr.Unauthorized) {
					b.Fatalf("login: %v", err)
				}
			}
		})
	}
}
