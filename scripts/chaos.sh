#!/usr/bin/env bash
# What `make chaos` does: the fault suite (deploy/chaos_test.go, build tag
# "chaos"). Under a load of ticket openings, comments and transitions it
# kills and restarts the worker, restarts RabbitMQ, PostgreSQL and the
# Temporal dev server, and kills one replica of each HTTP service, then
# checks with queries that nothing accepted was lost or done twice.
#
# Everything runs on loopback: PostgreSQL, RabbitMQ and the Temporal dev
# server are private instances the test starts on free ports in its own
# folder (the machine's shared ones are never restarted); only Redis is
# shared, under a prefix of the run's own. Needs Debian's postgresql,
# rabbitmq-server and nginx (as .ci/run installs them) and root, to run
# the servers as their users.
#
# Environment:
#   CHAOS_TICKETS   tickets to open (default 2000)
#   CHAOS_RATE      tickets a second (default 6)
#   CHAOS_REPORT    where the Markdown report goes (default .data/chaos-report.md)
#   CHAOS_LOGS      where the logs of every process are kept (default .data/chaos-logs)
#   CHAOS_TIMEOUT   go test -timeout (default 30m)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

mkdir -p .data
started=$(scripts/services.sh up redis)
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
	if [[ -n $started ]]; then
		scripts/services.sh down "$started" || true
	fi
}
trap cleanup EXIT

export CHAOS_REPORT=${CHAOS_REPORT:-$PWD/.data/chaos-report.md}
export CHAOS_LOGS=${CHAOS_LOGS:-$PWD/.data/chaos-logs}
go test -tags chaos -run '^TestChaos$' -count=1 -v -timeout "${CHAOS_TIMEOUT:-30m}" ./deploy/
log "report: $CHAOS_REPORT"
