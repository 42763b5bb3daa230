#!/usr/bin/env bash
# What `make run` does: Ticketflow on this machine, in one terminal.
#
# Starts PostgreSQL, RabbitMQ and Redis if they do not answer, creates the
# database if missing, builds bin/ticketflow, migrates, starts the Temporal dev
# server if nothing listens on 7233, then runs `ticketflow dev` until Ctrl-C.
# On Ctrl-C or TERM it stops everything it started, and only that.
#
# Environment: DATABASE_URL (the database to create and migrate; default
# postgres://postgres@127.0.0.1:5432/ticketflow), TEMPORAL_ADDRESS (a dev server
# is started only for the default 127.0.0.1:7233), TEMPORAL_DB (see
# scripts/temporal.sh), LOG_FORMAT (text here), and everything `ticketflow dev`
# reads (see README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ticketflow?sslmode=disable}
export LOG_FORMAT=${LOG_FORMAT:-text}
temporal_address=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
app_port=8080
[[ -z ${HTTP_ADDR:-} ]] || app_port=${HTTP_ADDR##*:}

started_services=""
started_temporal=""
app_pid=""

# shellcheck disable=SC2317 # reached through the traps
cleanup() {
	local status=$?
	trap - EXIT INT TERM
	if [[ -n $app_pid ]] && kill -0 "$app_pid" 2>/dev/null; then
		log "stopping ticketflow dev"
		kill -INT "$app_pid" 2>/dev/null || true
		wait "$app_pid" 2>/dev/null || true
	fi
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

if port_open 127.0.0.1 "$app_port"; then
	die "something already listens on port $app_port; is Ticketflow running already?"
fi

started_services=$(scripts/services.sh up)

# The database named in DATABASE_URL, created through the server's postgres database.
db_base=${DATABASE_URL%%\?*}
db_query=${DATABASE_URL#"$db_base"}
db_name=${db_base##*/}
admin_url=${db_base%/*}/postgres$db_query
if [[ $(psql "$admin_url" -qtAc "select 1 from pg_database where datname = '$db_name'") != 1 ]]; then
	log "creating database $db_name"
	psql "$admin_url" -qc "create database \"$db_name\""
fi

log "building bin/ticketflow"
go build -o bin/ticketflow ./cmd/ticketflow
bin/ticketflow migrate

case $temporal_address in
127.0.0.1:7233 | localhost:7233)
	started_temporal=$(scripts/temporal.sh start)
	scripts/temporal.sh wait
	;;
*) log "using Temporal at $temporal_address" ;;
esac

# Its own session, so that Ctrl-C reaches it once, from cleanup, and it drains.
setsid bin/ticketflow dev </dev/null &
app_pid=$!
deadline=$((SECONDS + 60))
until port_open 127.0.0.1 "$app_port"; do
	kill -0 "$app_pid" 2>/dev/null || die "ticketflow dev exited at start"
	((SECONDS < deadline)) || die "ticketflow dev did not listen on port $app_port within 60s"
	sleep 0.5
done

cat >&2 <<MSG

Ticketflow is running (Ctrl-C stops it and everything this script started).
  app          http://127.0.0.1:$app_port
  API health   http://127.0.0.1:$app_port/healthz
  Temporal UI  http://127.0.0.1:8233
First admin:
  bin/ticketflow admin create-user --email admin@example.com --password 'choose-a-long-one' --name Admin --role admin

MSG

set +e
wait "$app_pid"
status=$?
set -e
app_pid=""
log "ticketflow dev exited with status $status"
exit "$status"
