#!/usr/bin/env bash
# What `make replicas` does: Ticketflow scaled out on this machine, behind
# the gateway, in one terminal.
#
# Starts PostgreSQL, RabbitMQ and Redis if they do not answer, creates the
# database if missing, builds bin/ticketflow, migrates, starts the Temporal
# dev server (with its UI under /temporal) if nothing listens on 7233,
# provisions the service account "ticketflow-replicas", starts the gateway
# (scripts/gateway.sh), then two processes of each HTTP service (`ticketflow
# serve` on 8081–8085 and 9081–9085) and two workers (health on 8090 and
# 9090). Kill any one of them: the gateway sends its requests to the other.
# On Ctrl-C or TERM it stops everything it started, and only that.
#
# The services call each other through the gateway's loopback listener
# (JWKS_URL, AUTH_URL, HELPDESK_URL, WORKFLOW_URL on 127.0.0.1:8089), so no
# call depends on one replica. Logs are in .data/replicas/.
#
# Environment: REPLICAS_PORT_BASE (default 8080: the first replicas listen on
# base+1 to base+5 in the order above, the second ones 1000 higher, the
# workers' health on base+10 and base+1010), REPLICAS_LOGS (default
# .data/replicas), TICKETFLOW_BIN (default bin/ticketflow),
# DATABASE_URL (default postgres://postgres@127.0.0.1:5432/ticketflow),
# TEMPORAL_ADDRESS (a dev server is started only for the default
# 127.0.0.1:7233), TEMPORAL_DB (see scripts/temporal.sh), the GATEWAY_*
# variables of scripts/gateway.sh except the upstreams, and everything
# `ticketflow serve` reads (see README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ticketflow?sslmode=disable}
export LOG_FORMAT=${LOG_FORMAT:-text}
temporal_address=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
https_addr=${GATEWAY_HTTPS_ADDR:-127.0.0.1:8443}
internal_addr=${GATEWAY_INTERNAL_ADDR:-127.0.0.1:8089}
logs=${REPLICAS_LOGS:-.data/replicas}
bin=${TICKETFLOW_BIN:-bin/ticketflow}
base=${REPLICAS_PORT_BASE:-8080}
if ! [[ $base =~ ^[0-9]+$ ]] || ((base < 1024 || base > 64000)); then
	die "REPLICAS_PORT_BASE must be a port number from 1024 to 64000, not $base"
fi
services=(auth:$((base + 1)) helpdesk:$((base + 2)) workflow:$((base + 3)) messaging:$((base + 4)) notification:$((base + 5)))
worker_ports=($((base + 10)) $((base + 1010)))

started_services=""
started_temporal=""
started_gateway=""
pids=()

# shellcheck disable=SC2317 # reached through the traps
cleanup() {
	local status=$?
	trap - EXIT INT TERM
	if ((${#pids[@]} > 0)); then
		log "stopping ${#pids[@]} processes"
		kill -TERM "${pids[@]}" 2>/dev/null || true
		wait "${pids[@]}" 2>/dev/null || true
	fi
	if [[ -n $started_gateway ]]; then
		scripts/gateway.sh stop || true
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

# Every port this script's processes listen on: the services' and their
# second replicas', and the workers' health ports.
ports=()
for s in "${services[@]}"; do
	ports+=("${s#*:}" "$((${s#*:} + 1000))")
done
ports+=("${worker_ports[@]}")
for port in "${ports[@]}"; do
	if port_open 127.0.0.1 "$port"; then
		die "something already listens on port $port; are replicas running already?"
	fi
done

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
"$bin" migrate

case $temporal_address in
127.0.0.1:7233 | localhost:7233)
	if port_open 127.0.0.1 7233; then
		log "/temporal/ needs a Temporal UI started with TEMPORAL_UI_PUBLIC_PATH=/temporal"
	fi
	started_temporal=$(TEMPORAL_UI_PUBLIC_PATH=/temporal scripts/temporal.sh start)
	scripts/temporal.sh wait
	;;
*) log "using Temporal at $temporal_address" ;;
esac

# One service account for every process: the worker and the services that
# call the helpdesk need it outside `ticketflow dev`.
creds=$("$bin" admin service-account ticketflow-replicas 2>/dev/null)
SERVICE_CLIENT_ID=$(sed -n 's/^SERVICE_CLIENT_ID=//p' <<<"$creds")
SERVICE_CLIENT_SECRET=$(sed -n 's/^SERVICE_CLIENT_SECRET=//p' <<<"$creds")
[[ -n $SERVICE_CLIENT_SECRET ]] || die "could not provision the service account"
export SERVICE_CLIENT_ID SERVICE_CLIENT_SECRET

# The gateway's upstreams are this script's replicas.
unset GATEWAY_BACKEND
for s in "${services[@]}"; do
	name=${s%%:*} port=${s#*:}
	export "GATEWAY_${name^^}_SERVERS=127.0.0.1:$port 127.0.0.1:$((port + 1000))"
done
started_gateway=$(scripts/gateway.sh start)

export JWKS_URL=http://$internal_addr/auth/.well-known/jwks.json
export AUTH_URL=http://$internal_addr HELPDESK_URL=http://$internal_addr WORKFLOW_URL=http://$internal_addr
export MESSAGING_URL=http://$internal_addr
export PUBLIC_URL=https://$https_addr TEMPORAL_UI_URL=https://$https_addr/temporal
export TRUST_PROXY=true

mkdir -p "$logs"
names=()
# launch NAME PORT COMMAND... starts one process listening on PORT in its own
# session (so that Ctrl-C reaches it once, from cleanup).
launch() {
	local name=$1 port=$2
	shift 2
	HTTP_ADDR=127.0.0.1:$port setsid "$@" >"$logs/$name-$port.log" 2>&1 </dev/null &
	pids+=($!)
	names+=("$name:$port")
}

# ready I waits until process I answers /readyz; fails when it exits or
# does not answer within 60 s.
ready() {
	local pid=${pids[$1]} name=${names[$1]} deadline=$((SECONDS + 60))
	until "$bin" healthcheck --url "http://127.0.0.1:${name#*:}/readyz" >/dev/null 2>&1; do
		if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
			return 1
		fi
		sleep 0.5
	done
}

log "starting the replicas"
for s in "${services[@]}"; do
	launch "${s%%:*}" "${s#*:}" "$bin" serve "${s%%:*}"
	launch "${s%%:*}" "$((${s#*:} + 1000))" "$bin" serve "${s%%:*}"
done
for port in "${worker_ports[@]}"; do
	launch worker "$port" "$bin" worker
done

for i in "${!pids[@]}"; do
	logfile=$logs/${names[$i]/:/-}.log
	if ready "$i"; then
		printf '  %-18s pid %-7s log %s\n' "${names[$i]}" "${pids[$i]}" "$logfile" >&2
	else
		tail -n 20 "$logfile" >&2 || true
		die "${names[$i]} did not become ready; see $logfile"
	fi
done

cat >&2 <<MSG

Ticketflow is running in replicas behind the gateway (Ctrl-C stops it all).
  app and API   https://$https_addr (self-signed certificate: .data/gateway/cert.pem)
  Temporal UI   https://$https_addr/temporal/ (admins, after POST /auth/temporal-session)
  replicas      the processes above; kill one, the gateway sends its requests to the other
First admin:
  $bin admin create-user --email admin@example.com --password 'choose-a-long-one' --name Admin --role admin

MSG

# Until Ctrl-C. A replica that dies is reported once, not restarted.
declare -A gone=()
while true; do
	for i in "${!pids[@]}"; do
		if [[ -z ${gone[$i]:-} ]] && ! kill -0 "${pids[$i]}" 2>/dev/null; then
			gone[$i]=1
			log "${names[$i]} (pid ${pids[$i]}) exited"
		fi
	done
	sleep 2
done
