#!/usr/bin/env bash
# Starts the local PostgreSQL, RabbitMQ and Redis that Ticketflow needs, each
# only when it does not answer, and stops again only what it started.
#
#   scripts/services.sh up [NAME...]    start what is down (all, or the NAMEs);
#                                       print the names of those it started
#   scripts/services.sh down [NAME...]  stop what `up` started (all, or the NAMEs)
#   scripts/services.sh status          tell which answer and which `up` started
#
# Names: postgres, rabbitmq, redis. What `up` started is kept, one name a line,
# in .data/started-services; `down` stops nothing that is not listed there, so a
# service that was already running before stays running.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

state=.data/started-services
all=(postgres rabbitmq redis)

pg_cluster_version() {
	local dirs=(/etc/postgresql/*/main)
	[[ -d ${dirs[-1]} ]] || die "no PostgreSQL cluster under /etc/postgresql"
	basename "$(dirname "${dirs[-1]}")"
}

answers() {
	case $1 in
	postgres) pg_isready -q -h 127.0.0.1 -p 5432 ;;
	rabbitmq) port_open 127.0.0.1 5672 ;;
	redis) [[ $(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null) == PONG ]] ;;
	esac
}

start() {
	case $1 in
	postgres) pg_ctlcluster --skip-systemctl-redirect "$(pg_cluster_version)" main start ;;
	rabbitmq) rabbitmq-server -detached ;;
	redis) redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
		--logfile "$PWD/.data/redis.log" ;;
	esac
}

stop() {
	case $1 in
	postgres) pg_ctlcluster --skip-systemctl-redirect "$(pg_cluster_version)" main stop ;;
	rabbitmq) rabbitmqctl -q stop ;;
	redis) redis-cli -h 127.0.0.1 -p 6379 shutdown nosave ;;
	esac
}

timeout_of() {
	case $1 in
	rabbitmq) echo 120 ;; # a cold Erlang node takes a while
	*) echo 60 ;;
	esac
}

recorded() { [[ -f $state ]] && grep -qx "$1" "$state"; }

forget() {
	[[ -f $state ]] || return 0
	grep -vx "$1" "$state" >"$state.tmp" || true
	mv "$state.tmp" "$state"
	[[ -s $state ]] || rm -f "$state"
}

up() {
	mkdir -p .data
	local names=("$@") name
	((${#names[@]} > 0)) || names=("${all[@]}")
	for name in "${names[@]}"; do
		[[ " ${all[*]} " == *" $name "* ]] || die "unknown service $name"
		if answers "$name"; then
			continue
		fi
		log "starting $name"
		if ! start "$name" >&2; then
			# Already starting, say, under someone else: wait, but do not own it.
			log "could not start $name; waiting for it anyway"
			wait_until "$(timeout_of "$name")" "$name" answers "$name"
			continue
		fi
		wait_until "$(timeout_of "$name")" "$name" answers "$name"
		recorded "$name" || echo "$name" >>"$state"
		echo "$name"
	done
}

down() {
	local names=("$@") name
	if ((${#names[@]} == 0)) && [[ -f $state ]]; then
		mapfile -t names <"$state"
	fi
	for name in "${names[@]}"; do
		recorded "$name" || continue
		log "stopping $name"
		stop "$name" >&2 || log "stopping $name failed"
		forget "$name"
	done
}

status() {
	local name health owner
	for name in "${all[@]}"; do
		health=down owner=
		if answers "$name"; then health=up; fi
		if recorded "$name"; then owner="(started by services.sh)"; fi
		printf '%-9s %-5s %s\n' "$name" "$health" "$owner"
	done
}

case ${1:-} in
up) shift; up "$@" ;;
down) shift; down "$@" ;;
status) status ;;
*) die "usage: $0 up|down [NAME...] | status" ;;
esac
