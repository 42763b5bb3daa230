// Package testenv gives integration tests their own slice of the real
// infrastructure: a fresh PostgreSQL schema, a RabbitMQ virtual host and a
// Redis key prefix per test, all removed when the test ends, so packages run
// in parallel and again without seeing each other's data.
//
// The services must be running; `make test` starts any that is not.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/ticketflow/ticketflow/internal/postgres"
)

// DatabaseURL is the server tests use: TEST_DATABASE_URL, or the local default.
func DatabaseURL() string {
	return getenv("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
}

// AMQPURL is the broker tests use (its root virtual host): TEST_AMQP_URL, or the local default.
func AMQPURL() string { return getenv("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/") }

// RedisURL is the Redis tests use: TEST_REDIS_URL, or the local default.
func RedisURL() string { return getenv("TEST_REDIS_URL", "redis://127.0.0.1:6379/0") }

// TemporalAddress is the Temporal frontend tests use: TEST_TEMPORAL_ADDRESS, or the local default.
func TemporalAddress() string { return getenv("TEST_TEMPORAL_ADDRESS", "127.0.0.1:7233") }

// Name returns a random lower-case identifier starting with prefix, usable
// as a schema, vhost, queue, key prefix or task queue name.
func Name(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

// Schema creates a fresh schema, opens a small pool confined to it (see
// postgres.Open) and drops the schema with everything in it at cleanup.
func Schema(t testing.TB, prefix string) (*pgxpool.Pool, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	schema := Name("t_" + prefix)
	pool, err := postgres.Open(ctx, DatabaseURL(), schema, 4)
	if err != nil {
		t.Fatalf("testenv: open schema: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		dropSchema(t, schema)
	})
	return pool, schema
}

func dropSchema(t testing.TB, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, DatabaseURL())
	if err != nil {
		t.Logf("testenv: drop schema %s: %v", schema, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		t.Logf("testenv: drop schema %s: %v", schema, err)
	}
}

// VHost creates a RabbitMQ virtual host for the test (with rabbitmqctl,
// which needs the local broker), grants the test user all permissions on it,
// deletes it at cleanup, and returns the AMQP URL that points into it.
func VHost(t testing.TB) string {
	t.Helper()
	vhost := Name("t")
	u, err := url.Parse(AMQPURL())
	if err != nil {
		t.Fatalf("testenv: AMQP URL: %v", err)
	}
	user := u.User.Username()
	rabbitmqctl(t, "add_vhost", vhost)
	t.Cleanup(func() { rabbitmqctl(t, "delete_vhost", vhost) })
	rabbitmqctl(t, "set_permissions", "-p", vhost, user, ".*", ".*", ".*")
	u.Path = "/" + vhost
	u.RawPath = "/" + url.PathEscape(vhost)
	return u.String()
}

func rabbitmqctl(t testing.TB, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "rabbitmqctl", append([]string{"-q"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("testenv: rabbitmqctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// Redis returns a client of the test Redis and a key prefix of the test's
// own; keys under the prefix are deleted at cleanup.
func Redis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	opts, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatalf("testenv: redis URL: %v", err)
	}
	client := redis.NewClient(opts)
	prefix := Name("t") + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
		_ = client.Close()
	})
	return client, prefix
}

// Logger returns a logger that writes through t.Log when TEST_LOG is set and
// discards otherwise, so failing tests can be rerun with logs.
func Logger(t testing.TB) *slog.Logger {
	if os.Getenv("TEST_LOG") == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func getenv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Database creates a fresh database, drops it at cleanup, and returns its
// URL: for tests that run whole processes, which create their own schemas.
func Database(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := Name("t")
	conn, err := pgx.Connect(ctx, DatabaseURL())
	if err != nil {
		t.Fatalf("testenv: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, DatabaseURL())
		if err != nil {
			t.Logf("testenv: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Logf("testenv: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(DatabaseURL())
	if err != nil {
		t.Fatalf("testenv: database URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
