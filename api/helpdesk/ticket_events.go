package helpdesk

// The data of the events the helpdesk publishes (CloudEvents source
// EventSource, subject the ticket's ID):
//
//   - ticket.created carries the new Ticket;
//   - ticket.updated carries a TicketUpdated.

// Change is one field of a ticket that changed, with its value before and
// after as text; null stands for "none" (an unassigned ticket's assignee).
type Change struct {
	Field string  `json:"field"`
	Old   *string `json:"old"`
	New   *string `json:"new"`
}

// TicketUpdated is the data of ticket.updated: the ticket after the change,
// what changed, and who changed it (a user's ID, or the client ID of the
// service that wrote it).
type TicketUpdated struct {
	Ticket  Ticket   `json:"ticket"`
	Changes []Change `json:"changes"`
	ActorID string   `json:"actor_id"`
}

// The names of the fields that history entries and ticket.updated report.
const (
	FieldTitle       = "title"
	FieldDescription = "description"
	FieldPriority    = "priority"
	FieldCategory    = "category_id"
	FieldStep        = "step"
	FieldStatus      = "status"
	FieldAssignee    = "assignee_id"
	// FieldTicket names a ticket's first history entry, its creation
	// (old null, new "created").
	FieldTicket = "ticket"
)

// diff lists the fields in which next differs from old, in a fixed order.
func diff(old, next Ticket) []Change {
	var changes []Change
	add := func(field string, o, n *string) {
		if (o == nil) != (n == nil) || (o != nil && *o != *n) {
			changes = append(changes, Change{Field: field, Old: o, New: n})
		}
	}
	add(FieldTitle, &old.Title, &next.Title)
	add(FieldDescription, &old.Description, &next.Description)
	add(FieldPriority, ptr(string(old.Priority)), ptr(string(next.Priority)))
	add(FieldCategory, &old.CategoryID, &next.CategoryID)
	add(FieldStep, &old.Step, &next.Step)
	add(FieldStatus, ptr(string(old.Status)), ptr(string(next.Status)))
	add(FieldAssignee, old.AssigneeID, next.AssigneeID)
	return changes
}
