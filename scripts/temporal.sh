#!/usr/bin/env bash
# Runs the Temporal dev server, the CLI pinned in temporal/go.mod, on
# 127.0.0.1:7233 with the UI on http://127.0.0.1:8233, the `default`
# namespace, eager workflow start allowed and the search attributes that every
# ticket workflow sets.
#
#   scripts/temporal.sh start       in the background, unless something already
#                                   listens on 7233; prints "temporal" when it
#                                   started a server (pid in .data/temporal.pid,
#                                   log in .data/temporal.log)
#   scripts/temporal.sh wait        block until the frontend answers and the
#                                   namespace is usable (TEMPORAL_WAIT_TIMEOUT s)
#   scripts/temporal.sh stop        stop the server that `start` started, only that
#   scripts/temporal.sh foreground  run it in this terminal (make temporal)
#   scripts/temporal.sh build       build bin/temporal if missing or out of date
#
# Environment:
#   TEMPORAL_DB              SQLite file (default .data/temporal.db); empty or
#                            "memory" keeps everything in memory
#   TEMPORAL_WAIT_TIMEOUT    seconds `wait` allows (default 60)
#   TEMPORAL_UI_PUBLIC_PATH  base path of the UI, e.g. /temporal behind the
#                            gateway (default /)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

ip=127.0.0.1
port=7233
ui_port=8233
namespace=default
bin=bin/temporal
pidfile=.data/temporal.pid
logfile=.data/temporal.log
db=${TEMPORAL_DB-.data/temporal.db}

server_args() {
	local args=(
		server start-dev
		--ip "$ip" --port "$port" --ui-port "$ui_port"
		--namespace "$namespace"
		--log-level warn
		# Keep in step with temporal/dynamicconfig.yaml (the dev server reads no file).
		--dynamic-config-value system.enableEagerWorkflowStart=true
		--search-attribute TicketId=Keyword
		--search-attribute TicketStatus=Keyword
		--search-attribute TicketPriority=Keyword
		--search-attribute TicketCategory=Keyword
		--search-attribute AssigneeId=Keyword
		--search-attribute SlaBreached=Bool
	)
	if [[ -n $db && $db != memory ]]; then
		mkdir -p "$(dirname "$db")"
		args+=(--db-filename "$db")
	fi
	if [[ -n ${TEMPORAL_UI_PUBLIC_PATH:-} ]]; then
		args+=(--ui-public-path "$TEMPORAL_UI_PUBLIC_PATH")
	fi
	printf '%s\n' "${args[@]}"
}

# build compiles the pinned CLI once; `go tool temporal` would re-link it at
# every start.
build() {
	if [[ -x $bin && $bin -nt temporal/go.mod && $bin -nt temporal/go.sum ]]; then
		return
	fi
	log "building $bin from temporal/go.mod"
	mkdir -p bin
	# A development tool, not part of Ticketflow: the machine's own Go
	# builds it (and its build cache serves it), whatever lib.sh pins.
	(cd temporal && GOTOOLCHAIN=local go build -o "../$bin" github.com/temporalio/cli/cmd/temporal)
}

# ours PID succeeds when PID is a live dev server.
ours() {
	[[ -n $1 && -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q 'server start-dev'
}

started_pid() {
	[[ -f $pidfile ]] && cat "$pidfile"
}

start() {
	if port_open "$ip" "$port"; then
		log "something already listens on $ip:$port; using it"
		return
	fi
	if ours "$(started_pid)"; then
		log "the server started earlier (pid $(started_pid)) is still coming up"
		return
	fi
	build
	mkdir -p .data
	local args
	mapfile -t args < <(server_args)
	log "starting the dev server on $ip:$port, UI http://$ip:$ui_port, store ${db:-memory}, log $logfile"
	# Its own session: a Ctrl-C meant for the caller does not reach it; `stop` does.
	setsid "$bin" "${args[@]}" >>"$logfile" 2>&1 </dev/null &
	echo $! >"$pidfile"
	echo temporal
}

ready() {
	"$bin" operator namespace describe --address "$ip:$port" --namespace "$namespace" \
		--command-timeout 3s --output none
}

wait_ready() {
	build
	local seconds=${TEMPORAL_WAIT_TIMEOUT:-60}
	local deadline=$((SECONDS + seconds)) pid
	pid=$(started_pid || true)
	until ready >/dev/null 2>&1; do
		if [[ -n $pid ]] && ! ours "$pid"; then
			tail -n 20 "$logfile" >&2 || true
			rm -f "$pidfile"
			die "the dev server (pid $pid) exited; see $logfile"
		fi
		if ((SECONDS >= deadline)); then
			die "Temporal on $ip:$port did not answer within ${seconds}s"
		fi
		sleep 0.5
	done
	log "Temporal answers on $ip:$port"
}

stop() {
	local pid
	pid=$(started_pid || true)
	if [[ -z $pid ]]; then
		log "no dev server started by this script"
		return
	fi
	rm -f "$pidfile"
	if ! ours "$pid"; then
		return
	fi
	log "stopping the dev server (pid $pid)"
	kill -TERM "$pid" 2>/dev/null || true
	local deadline=$((SECONDS + 20))
	while ours "$pid"; do
		if ((SECONDS >= deadline)); then
			log "pid $pid ignored SIGTERM; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.2
	done
}

foreground() {
	if port_open "$ip" "$port"; then
		die "something already listens on $ip:$port (scripts/temporal.sh stop stops a server it started)"
	fi
	build
	local args
	mapfile -t args < <(server_args)
	log "dev server on $ip:$port, UI http://$ip:$ui_port, store ${db:-memory}; Ctrl-C stops it"
	exec "$bin" "${args[@]}"
}

case ${1:-} in
start) start ;;
wait) wait_ready ;;
stop) stop ;;
foreground) foreground ;;
build) build ;;
*) die "usage: $0 start|wait|stop|foreground|build" ;;
esac
