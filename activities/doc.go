// Package activities holds the Temporal activities of the ticket workflow:
// short idempotent database steps and calls to other services and brokers.
package activities
