package main

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The notification service lands with its issue; until then this build has
// none. Replace this file with the real wiring.

const notificationSchema = "notification"

var migrateNotification = (func(context.Context, *pgxpool.Pool) error)(nil)

func (a *App) notificationComponent(context.Context) (component, error) {
	return component{}, errNotBuilt
}
