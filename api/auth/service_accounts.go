package auth

import (
	"crypto/subtle"
	"regexp"
)

var clientIDPattern = regexp.MustCompile(`^[a-z0-9_-]{3,64}$`)

func validClientID(id string) bool { return clientIDPattern.MatchString(id) }

func equalHash(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
