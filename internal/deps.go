//go:build deps

// Package internal pins the project's chosen modules in go.mod until code
// imports them. Remove an import once a package uses it.
package internal

import (
	_ "github.com/gorilla/websocket"
	_ "github.com/rabbitmq/amqp091-go"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/spf13/cobra"
	_ "github.com/google/uuid"
	_ "golang.org/x/crypto/argon2"
	_ "go.temporal.io/sdk/client"
	_ "go.temporal.io/sdk/testsuite"
)
