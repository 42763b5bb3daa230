#!/usr/bin/env bash
# What `make test` does: nginx -t on the gateway's configuration, go vet,
# then every Go test, the integration tests against the real PostgreSQL,
# RabbitMQ, Redis and Temporal dev server (and, through nginx, the gateway).
#
# Starts each service that does not answer (the Temporal dev server in memory,
# unless TEMPORAL_DB says otherwise) and stops, at the end, only those it
# started. Exits with the status of the first step that failed.
#
# Environment:
#   TEST_PACKAGES          packages to vet and test (default ./...)
#   TEST_RACE              0 runs the tests without the race detector (default 1)
#   GOTEST_FLAGS           more flags for go test, e.g. "-run Auth -v"
#   TEST_TEMPORAL_ADDRESS  a dev server is started only for the default
#                          127.0.0.1:7233; the tests read it too (internal/testenv)
#   TEMPORAL_DB            store of a dev server this script starts (default memory)
#   TEST_WEB               0 skips the web app's tests (typecheck, vitest, build, browser e2e)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

read -r -a packages <<<"${TEST_PACKAGES:-./...}"
read -r -a extra <<<"${GOTEST_FLAGS:-}"
race=(-race)
[[ ${TEST_RACE:-1} != 0 ]] || race=()

started_services=""
started_temporal=""

# shellcheck disable=SC2317 # reached through the traps
cleanup() {
	local status=$?
	trap - EXIT INT TERM
	if [[ -n $started_temporal ]]; then
		scripts/temporal.sh stop || true
	fi
	if [[ -n $started_services ]]; then
		# shellcheck disable=SC2086 # one service name a line
		scripts/services.sh down $started_services || true
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# phase NAME COMMAND... runs COMMAND and logs how long it took.
phase() {
	local name=$1 start=$SECONDS
	shift
	"$@"
	log "$name took $((SECONDS - start))s"
}

begin=$SECONDS
started_services=$(scripts/services.sh up)
case ${TEST_TEMPORAL_ADDRESS:-127.0.0.1:7233} in
127.0.0.1:7233 | localhost:7233)
	started_temporal=$(TEMPORAL_DB=${TEMPORAL_DB-memory} scripts/temporal.sh start)
	scripts/temporal.sh wait
	;;
esac
log "services ready in $((SECONDS - begin))s"

if command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]]; then
	phase "nginx -t" scripts/gateway.sh test
else
	log "nginx is not installed (.ci/run installs it): no nginx -t, and the gateway test skips"
fi
phase "go vet" go vet "${packages[@]}"
phase "go test" go test "${race[@]}" -count=1 -timeout 12m "${extra[@]}" "${packages[@]}"

# The web app: types, unit tests, build, then the browser test against a
# backend it starts itself (web/e2e/run.mjs). TEST_WEB=0 skips it.
web_tests() {
	local node_major
	node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
	if ((node_major < 20)); then
		die "the web app needs Node.js 20.19 or newer (found ${node_major}); see README, Web app"
	fi
	(
		cd web
		[[ -d node_modules ]] || npm ci --no-audit --no-fund
		phase "web typecheck" npm run --silent typecheck
		phase "web unit tests" npm test --silent
		phase "web build" npm run --silent build
		phase "web e2e" npm run --silent e2e
	)
}
if [[ -f web/package.json && ${TEST_WEB:-1} != 0 ]]; then
	web_tests
fi
log "all done in $((SECONDS - begin))s"
