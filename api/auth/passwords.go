package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).
// They are written into every hash, so raising them later still verifies old
// hashes.
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
	argonSaltLen   = 16

	// MinPasswordLength and MaxPasswordLength bound accepted passwords; the
	// upper bound keeps hashing cost bounded for hostile input.
	MinPasswordLength = 10
	MaxPasswordLength = 128
)

var errMalformedHash = errors.New("malformed password hash")

// hashPassword returns the PHC string of an Argon2id hash of password.
func hashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemoryKiB, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// checkPassword reports whether password matches the PHC-encoded hash, in
// time independent of where the two differ.
func checkPassword(encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errMalformedHash
	}
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil {
		return false, errMalformedHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false, errMalformedHash
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errMalformedHash
	}
	got := argon2.IDKey([]byte(password), salt, time, memory, threads, uint32(len(want)))
	if f := passwordChecked.Load(); f != nil {
		(*f)(hashCost{memoryKiB: memory, passes: time, threads: threads, keyLen: len(want)})
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// hashCost is the work one Argon2id computation takes.
type hashCost struct {
	memoryKiB, passes uint32
	threads           uint8
	keyLen            int
}

// passwordChecked, when set, is told the cost of every hash checkPassword
// computes. Tests set it to prove that a login pays for one full hash
// whatever the e-mail (see passwords_export_test.go); nil in production.
var passwordChecked atomic.Pointer[func(hashCost)]

// dummyHash is checked against when the e-mail is unknown, so that a wrong
// e-mail costs the same time as a wrong password and does not reveal which
// accounts exist.
func dummyHash() string {
	h, err := hashPassword("ticketflow-dummy-password")
	if err != nil {
		panic(err)
	}
	return h
}
