#!/usr/bin/env bash
# What `make run` does: Ticketflow on this machine, in one terminal.
#
# Starts PostgreSQL, RabbitMQ and Redis if they do not answer, creates the
# database if missing, builds bin/ticketflow and, when web/dist is missing or
# older than the web app's sources, the web app (npm ci first when
# web/node_modules is missing or older than web/package-lock.json; needs
# Node.js 20.19+ and npm), migrates, starts the Temporal dev server if nothing
# listens on 7233, then runs `ticketflow dev` until Ctrl-C. On Ctrl-C or TERM
# it stops everything it started, and only that.
#
# Environment: DATABASE_URL (the database to create and migrate; default
# postgres://postgres@127.0.0.1:5432/ticketflow), HTTP_ADDR (default :8080),
# TEMPORAL_ADDRESS (a dev server is started only for the default
# 127.0.0.1:7233, and only when nothing listens there), TEMPORAL_DB (see
# scripts/temporal.sh), TICKETFLOW_BIN (where to build the binary; default
# bin/ticketflow), WEB_DIST (a web app built elsewhere: then this script
# builds none, it only checks it), WEB_BUILD (auto: build when missing or
# stale, the default; never: do not build), LOG_FORMAT (text here), and
# everything `ticketflow dev` reads (see README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ticketflow?sslmode=disable}
export LOG_FORMAT=${LOG_FORMAT:-text}
temporal_address=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
app_port=8080
[[ -z ${HTTP_ADDR:-} ]] || app_port=${HTTP_ADDR##*:}
bin=${TICKETFLOW_BIN:-bin/ticketflow}
web_build=${WEB_BUILD:-auto}
[[ $web_build == auto || $web_build == never ]] || die "WEB_BUILD must be auto or never, not $web_build"

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

log "building $bin"
go build -o "$bin" ./cmd/ticketflow

# web_stale succeeds when web/dist is missing or older than anything its
# build reads (tests and end-to-end scripts aside).
web_stale() {
	[[ -f web/dist/index.html ]] || return 0
	[[ -n $(find web/src web/public web/index.html web/package.json web/package-lock.json web/vite.config.ts \
		web/tsconfig.json -newer web/dist/index.html -type f ! -name '*.test.*' -print -quit 2>/dev/null) ]]
}

# node_ok succeeds when node (20.19 or newer, as web/package.json asks) and npm are here.
node_ok() {
	command -v node >/dev/null && command -v npm >/dev/null || return 1
	local v major minor
	v=$(node -p 'process.versions.node' 2>/dev/null) || return 1
	IFS=. read -r major minor _ <<<"$v"
	((major > 20 || (major == 20 && minor >= 19)))
}

# build_web builds web/dist, installing the web app's packages first when
# web/node_modules is missing or older than web/package-lock.json.
build_web() {
	if [[ ! -f web/node_modules/.package-lock.json || web/package-lock.json -nt web/node_modules/.package-lock.json ]]; then
		log "installing the web app's packages (npm ci in web/)"
		(cd web && npm ci --no-audit --no-fund) >&2
	fi
	log "building the web app into web/dist (npm run build in web/)"
	(cd web && npm run build) >&2
}

if [[ -n ${WEB_DIST:-} && ${WEB_DIST%/} != web/dist && ${WEB_DIST%/} != "$PWD/web/dist" ]]; then
	[[ -f $WEB_DIST/index.html ]] || log "warning: WEB_DIST=$WEB_DIST has no index.html; the app at / answers 404"
elif [[ $web_build == never ]]; then
	[[ -f web/dist/index.html ]] || log "warning: WEB_BUILD=never and web/dist is not built; the app at / answers 404"
elif web_stale; then
	if node_ok; then
		build_web
	elif [[ -f web/dist/index.html ]]; then
		log "warning: web/dist is older than the web app's sources, and Node.js 20.19+ with npm is not here to rebuild it; serving the old build"
	else
		die "the web app is not built (web/dist) and building it needs Node.js 20.19 or newer with npm, which are not here (node: $(node --version 2>/dev/null || echo none), npm: $(npm --version 2>/dev/null || echo none)).
Install them (README.md, Web app), or run with WEB_BUILD=never to serve only the API, or build the app elsewhere and point WEB_DIST at it."
	fi
fi

"$bin" migrate

case $temporal_address in
127.0.0.1:7233 | localhost:7233)
	started_temporal=$(scripts/temporal.sh start)
	scripts/temporal.sh wait
	;;
*) log "using Temporal at $temporal_address" ;;
esac

# Its own session, so that Ctrl-C reaches it once, from cleanup, and it drains.
setsid "$bin" dev </dev/null &
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
  $bin admin create-user --email admin@example.com --password 'choose-a-long-one' --name Admin --role admin

MSG

set +e
wait "$app_pid"
status=$?
set -e
app_pid=""
log "ticketflow dev exited with status $status"
exit "$status"
