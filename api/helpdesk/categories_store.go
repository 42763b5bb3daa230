package helpdesk

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ticketflow/ticketflow/internal/apperr"
	"github.com/ticketflow/ticketflow/internal/postgres"
)

const categoryColumns = `id, name, description, active, created_at`

func scanCategory(row pgx.Row) (Category, error) {
	var c Category
	err := row.Scan(&c.ID, &c.Name, &c.Description, &c.Active, &c.CreatedAt)
	return c, err
}

// errCategoryTaken answers a name another category has, in any case.
var errCategoryTaken = apperr.WithFields(apperr.Conflict, "a category with this name already exists",
	apperr.FieldError{Field: "name", Message: "is taken"})

func insertCategory(ctx context.Context, q postgres.Querier, id string, in NewCategory) (Category, error) {
	c, err := scanCategory(q.QueryRow(ctx, `
		INSERT INTO categories (id, name, description) VALUES ($1, $2, $3)
		RETURNING `+categoryColumns, id, in.Name, in.Description))
	if postgres.IsUniqueViolation(err) {
		return Category{}, errCategoryTaken
	}
	if err != nil {
		return Category{}, fmt.Errorf("insert category: %w", err)
	}
	return c, nil
}

func updateCategory(ctx context.Context, q postgres.Querier, c Category) (Category, error) {
	c, err := scanCategory(q.QueryRow(ctx, `
		UPDATE categories SET name = $2, description = $3, active = $4 WHERE id = $1
		RETURNING `+categoryColumns, c.ID, c.Name, c.Description, c.Active))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return Category{}, errNoCategory
	case postgres.IsUniqueViolation(err):
		return Category{}, errCategoryTaken
	case err != nil:
		return Category{}, fmt.Errorf("update category %s: %w", c.ID, err)
	}
	return c, nil
}

// foreignKeyViolation is PostgreSQL's SQLSTATE foreign_key_violation.
const foreignKeyViolation = "23503"

// deleteCategory deletes the category id unless a ticket is filed in it or
// a ticket's history names it (errCategoryInUse). A ticket filed in it
// concurrently either commits first, and the foreign key then refuses the
// delete, or waits on the row lock and finds the category gone.
func deleteCategory(ctx context.Context, q postgres.Querier, id string) error {
	tag, err := q.Exec(ctx, `
		DELETE FROM categories c WHERE c.id = $1
		AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.category_id = c.id)
		AND NOT EXISTS (SELECT 1 FROM ticket_history h WHERE h.field = $2
			AND (h.old_value = c.id::text OR h.new_value = c.id::text))`, id, FieldCategory)
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == foreignKeyViolation:
		return errCategoryInUse
	case err != nil:
		return fmt.Errorf("delete category %s: %w", id, err)
	case tag.RowsAffected() == 1:
		return nil
	}
	// Nothing deleted: the category is unknown, or in use.
	if _, err := categoryByID(ctx, q, id); err != nil {
		return err
	}
	return errCategoryInUse
}

func categoryByID(ctx context.Context, q postgres.Querier, id string) (Category, error) {
	c, err := scanCategory(q.QueryRow(ctx, `SELECT `+categoryColumns+` FROM categories WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Category{}, errNoCategory
	}
	if err != nil {
		return Category{}, fmt.Errorf("read category %s: %w", id, err)
	}
	return c, nil
}

func listCategories(ctx context.Context, q postgres.Querier, includeInactive bool) ([]Category, error) {
	rows, err := q.Query(ctx, `SELECT `+categoryColumns+` FROM categories WHERE active OR $1 ORDER BY lower(name), id`, includeInactive)
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Category, error) { return scanCategory(r) })
	if err != nil {
		return nil, fmt.Errorf("list categories: %w", err)
	}
	return cs, nil
}

// checkCategoryActive returns errBadCategory unless id names an active
// category.
func checkCategoryActive(ctx context.Context, q postgres.Querier, id string) error {
	var active bool
	err := q.QueryRow(ctx, `SELECT active FROM categories WHERE id = $1`, id).Scan(&active)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !active) {
		return errBadCategory
	}
	if err != nil {
		return fmt.Errorf("read category %s: %w", id, err)
	}
	return nil
}
