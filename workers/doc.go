// Package workers registers the workflows and activities on a Temporal
// worker, as `ticketflow worker` and `ticketflow dev` run it.
package workers
