// Package workflows holds Ticketflow's Temporal workflows: TicketWorkflow,
// one durable run per ticket (workflow ID "ticket-<ticket id>"), driving the
// ticket's steps, round-robin assignment, SLA timers and escalations. Its
// contract file names the task queue, Updates, signals and queries that the
// API side imports.
package workflows
