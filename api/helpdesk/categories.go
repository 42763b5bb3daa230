package helpdesk

import (
	"context"
	"strings"
	"time"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/logging"
)

// Category groups tickets of one kind ("Hardware", "Access requests").
//
// A category does not name the team that handles it: teams belong to the
// workflow engine, and the category's process definition there
// (PUT /workflow/definitions/{category_id}) names its team and escalation
// team. A category without a definition gets the default process.
type Category struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// Active categories are offered for new tickets; inactive ones stay
	// on the tickets already filed in them.
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
}

// Limits of a category's fields, in characters.
const (
	MaxCategoryNameLength        = 100
	MaxCategoryDescriptionLength = 2000
)

// NewCategory is a category to create.
type NewCategory struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// CategoryPatch is an admin's change to a category; nil fields stay as they are.
type CategoryPatch struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Active      *bool   `json:"active"`
}

func checkCategory(name, description string) error {
	var f fieldErrors
	if name == "" {
		f.add("name", "is required")
	} else {
		f.checkText("name", name, MaxCategoryNameLength)
	}
	f.checkText("description", description, MaxCategoryDescriptionLength)
	return f.err(apperr.Unprocessable, "the request has invalid fields")
}

var errNoCategory = apperr.New(apperr.NotFound, "no such category")

// CreateCategory creates an active category. Names are unique whatever
// their case; a taken name is a Conflict.
func (s *Service) CreateCategory(ctx context.Context, in NewCategory) (Category, error) {
	in.Name = strings.TrimSpace(in.Name)
	if err := checkCategory(in.Name, in.Description); err != nil {
		return Category{}, err
	}
	c, err := insertCategory(ctx, s.pool, newID(), in)
	if err != nil {
		return Category{}, err
	}
	logging.FromContext(ctx, s.log).Info("category created", "category_id", c.ID, "name", c.Name)
	return c, nil
}

// UpdateCategory applies an admin's change to the category id.
func (s *Service) UpdateCategory(ctx context.Context, id string, p CategoryPatch) (Category, error) {
	if !validID(id) {
		return Category{}, errNoCategory
	}
	c, err := categoryByID(ctx, s.pool, id)
	if err != nil {
		return Category{}, err
	}
	if p.Name != nil {
		c.Name = strings.TrimSpace(*p.Name)
	}
	if p.Description != nil {
		c.Description = *p.Description
	}
	if p.Active != nil {
		c.Active = *p.Active
	}
	if err := checkCategory(c.Name, c.Description); err != nil {
		return Category{}, err
	}
	if c, err = updateCategory(ctx, s.pool, c); err != nil {
		return Category{}, err
	}
	logging.FromContext(ctx, s.log).Info("category updated", "category_id", c.ID, "name", c.Name, "active", c.Active)
	return c, nil
}

// errCategoryInUse answers the deletion of a category that tickets are
// filed in, or once were (their history names it): archiving it keeps
// those names.
var errCategoryInUse = apperr.New(apperr.Conflict,
	`the category is used by tickets or their history and cannot be deleted; archive it instead with PATCH {"active": false}`)

// DeleteCategory deletes the category id if no ticket is filed in it and
// no ticket's history names it, as a category created by mistake; a
// category in use is a Conflict (errCategoryInUse) and stays: archive it
// (UpdateCategory with Active false) so that it is no longer offered and
// every ticket and history entry keeps its name. Like Zendesk and Zammad,
// which refuse to delete groups and categories that tickets reference.
func (s *Service) DeleteCategory(ctx context.Context, id string) error {
	if !validID(id) {
		return errNoCategory
	}
	if err := deleteCategory(ctx, s.pool, id); err != nil {
		return err
	}
	logging.FromContext(ctx, s.log).Info("category deleted", "category_id", id)
	return nil
}

// Category returns one category, active or not.
func (s *Service) Category(ctx context.Context, id string) (Category, error) {
	if !validID(id) {
		return Category{}, errNoCategory
	}
	return categoryByID(ctx, s.pool, id)
}

// Categories returns the active categories by name, or all of them when
// includeInactive.
func (s *Service) Categories(ctx context.Context, includeInactive bool) ([]Category, error) {
	return listCategories(ctx, s.pool, includeInactive)
}
