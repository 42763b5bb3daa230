package temporalx

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// The search attributes of a ticket workflow run. They let admins find runs
// in the Temporal UI; the product's own lists read PostgreSQL, since
// visibility is only eventually consistent. `make temporal` registers them on
// the dev server; EnsureSearchAttributes registers them on any other cluster.
var (
	// TicketID is the helpdesk ticket's UUID.
	TicketID = temporal.NewSearchAttributeKeyKeyword("TicketId")
	// TicketStatus is the ticket's status: new, open, pending, resolved or closed.
	TicketStatus = temporal.NewSearchAttributeKeyKeyword("TicketStatus")
	// TicketPriority is low, normal, high or urgent.
	TicketPriority = temporal.NewSearchAttributeKeyKeyword("TicketPriority")
	// TicketCategory is the UUID of the ticket's category.
	TicketCategory = temporal.NewSearchAttributeKeyKeyword("TicketCategory")
	// AssigneeID is the UUID of the assigned agent, empty while unassigned.
	AssigneeID = temporal.NewSearchAttributeKeyKeyword("AssigneeId")
	// SLABreached tells whether any SLA timer of the ticket has fired.
	SLABreached = temporal.NewSearchAttributeKeyBool("SlaBreached")
)

// SearchAttributes returns every key above, in a fresh slice.
func SearchAttributes() []temporal.SearchAttributeKey {
	return []temporal.SearchAttributeKey{TicketID, TicketStatus, TicketPriority, TicketCategory, AssigneeID, SLABreached}
}

// EnsureSearchAttributes registers in namespace those of SearchAttributes
// that are missing there, through the operator service. It is idempotent and
// safe to run from several processes at once. An attribute that exists with
// another type is an error: it needs an operator's decision, not an overwrite.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	list, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes of %s: %w", namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, key := range SearchAttributes() {
		have, ok := list.GetCustomAttributes()[key.GetName()]
		if !ok {
			have, ok = list.GetSystemAttributes()[key.GetName()]
		}
		switch {
		case !ok:
			missing[key.GetName()] = key.GetValueType()
		case have != key.GetValueType():
			return fmt.Errorf("search attribute %s of %s is %s, want %s", key.GetName(), namespace, have, key.GetValueType())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("add search attributes to %s: %w", namespace, err)
	}
	return nil
}
