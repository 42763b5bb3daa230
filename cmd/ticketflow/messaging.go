package main

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The messaging service lands with its issue; until then this build has
// none. Replace this file with the real wiring.

const messagingSchema = "messaging"

var migrateMessaging = (func(context.Context, *pgxpool.Pool) error)(nil)

func (a *App) messagingComponent(context.Context) (component, error) { return component{}, errNotBuilt }
