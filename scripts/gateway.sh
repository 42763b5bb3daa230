#!/usr/bin/env bash
# Runs the gateway on this machine: Debian's nginx with deploy/nginx/ on
# https://127.0.0.1:8443 (HTTP on 127.0.0.1:8088 redirects there), in front
# of `ticketflow serve` on 8081–8085 (and the second replicas on 9081–9085)
# or of `ticketflow dev` on 8080. The certificate is self-signed for
# 127.0.0.1 and localhost, made on first use. Everything nginx writes
# (configuration, certificate, pid, logs) stays in .data/gateway/.
#
#   scripts/gateway.sh start       in the background (pid in .data/gateway/nginx.pid);
#                                  prints "gateway" when it started one
#   scripts/gateway.sh stop        stop the nginx that `start` started, only that
#   scripts/gateway.sh foreground  run it in this terminal (make gateway)
#   scripts/gateway.sh test        nginx -t on a configuration rendered afresh
#   scripts/gateway.sh render      write the configuration (and the
#                                  certificate) into GATEWAY_DIR, start nothing
#
# Environment:
#   GATEWAY_DIR            state folder (default .data/gateway)
#   GATEWAY_HTTPS_ADDR     TLS listener (default 127.0.0.1:8443)
#   GATEWAY_HTTP_ADDR      plain listener that redirects (default 127.0.0.1:8088)
#   GATEWAY_INTERNAL_ADDR  loopback listener the services call each other
#                          through (default 127.0.0.1:8089)
#   GATEWAY_BACKEND        serve (default: 8081–8085 and 9081–9085) or dev
#                          (everything on 127.0.0.1:8080)
#   GATEWAY_AUTH_SERVERS, GATEWAY_HELPDESK_SERVERS, GATEWAY_WORKFLOW_SERVERS,
#   GATEWAY_MESSAGING_SERVERS, GATEWAY_NOTIFICATION_SERVERS
#                          a service's replicas, host:port separated by spaces
#   GATEWAY_TEMPORAL_UI    the Temporal UI (default 127.0.0.1:8233); it must be
#                          started with TEMPORAL_UI_PUBLIC_PATH=/temporal
#   GATEWAY_WEB_ROOT       the built web app (default web/dist)
#   GATEWAY_USER           user of nginx's workers when run as root (default
#                          nobody; empty keeps root)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

repo=$PWD
state=${GATEWAY_DIR:-.data/gateway}
[[ $state == /* ]] || state=$repo/$state
https_addr=${GATEWAY_HTTPS_ADDR:-127.0.0.1:8443}
http_addr=${GATEWAY_HTTP_ADDR:-127.0.0.1:8088}
internal_addr=${GATEWAY_INTERNAL_ADDR:-127.0.0.1:8089}
web_root=${GATEWAY_WEB_ROOT:-$repo/web/dist}
[[ $web_root == /* ]] || web_root=$repo/$web_root
temporal_ui=${GATEWAY_TEMPORAL_UI:-127.0.0.1:8233}
conf=$state/conf/nginx.conf
pidfile=$state/nginx.pid

nginx_bin() {
	if command -v nginx >/dev/null; then
		command -v nginx
	elif [[ -x /usr/sbin/nginx ]]; then
		echo /usr/sbin/nginx
	else
		die "nginx is not installed (apt-get install -y nginx-light)"
	fi
}

# servers NAME PORT prints the replicas of a service: GATEWAY_<NAME>_SERVERS,
# or the defaults of GATEWAY_BACKEND.
servers() {
	local name=$1 port=$2 var
	var=GATEWAY_${name^^}_SERVERS
	if [[ -n ${!var:-} ]]; then
		echo "${!var}"
		return
	fi
	case ${GATEWAY_BACKEND:-serve} in
	serve) echo "127.0.0.1:$port 127.0.0.1:$((port + 1000))" ;;
	dev) echo "127.0.0.1:8080" ;;
	esac
}

upstreams() {
	local name port server
	for name in auth:8081 helpdesk:8082 workflow:8083 messaging:8084 notification:8085; do
		port=${name#*:} name=${name%%:*}
		printf 'upstream %s {\n' "$name"
		for server in $(servers "$name" "$port"); do
			printf '    server %s max_fails=1 fail_timeout=10s;\n' "$server"
		done
		printf '    keepalive 16;\n}\n\n'
	done
	printf 'upstream temporal_ui {\n    server %s;\n    keepalive 4;\n}\n' "$temporal_ui"
}

# fill TEMPLATE OUT writes TEMPLATE with its @PLACEHOLDERS@ replaced.
fill() {
	local text
	text=$(<"$1")
	text=${text//@STATE@/$state}
	text=${text//@USER@/$user_line}
	text=${text//@UPSTREAMS@/$(upstreams)}
	text=${text//@INTERNAL_ADDR@/$internal_addr}
	text=${text//@HTTPS_ADDR@/$https_addr}
	text=${text//@HTTP_ADDR@/$http_addr}
	text=${text//@HTTPS_PORT_SUFFIX@/$https_port_suffix}
	text=${text//@WEB_ROOT@/$web_root}
	printf '%s\n' "$text" >"$2"
}

cert() {
	[[ -s $state/cert.pem && -s $state/key.pem ]] && return
	command -v openssl >/dev/null || die "openssl is not installed"
	log "making a self-signed certificate for 127.0.0.1 and localhost in $state"
	mkdir -p "$state"
	(
		umask 077
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
			-subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
			-addext "extendedKeyUsage=serverAuth" \
			-keyout "$state/key.pem" -out "$state/cert.pem" 2>/dev/null
	)
	chmod 644 "$state/cert.pem"
}

render() {
	case ${GATEWAY_BACKEND:-serve} in
	serve | dev) ;;
	*) die "GATEWAY_BACKEND must be serve or dev, not ${GATEWAY_BACKEND}" ;;
	esac
	local user=""
	if ((EUID == 0)); then
		user=${GATEWAY_USER-nobody}
	fi
	user_line=""
	if [[ -n $user ]]; then
		user_line="user $user $(id -gn "$user");"
	fi
	https_port_suffix=":${https_addr##*:}"
	[[ $https_port_suffix != :443 ]] || https_port_suffix=""

	mkdir -p "$state/conf/env" "$state/logs" "$state/tmp"
	ln -sfn "$repo/deploy/nginx" "$state/conf/ticketflow"
	fill deploy/nginx/local/nginx.conf.template "$conf"
	local t
	for t in deploy/nginx/local/env/*.conf.template; do
		fill "$t" "$state/conf/env/$(basename "$t" .template)"
	done
	# Workers that dropped to $user buffer large bodies there.
	[[ -z $user ]] || chown "$user" "$state/tmp"
	cert
}

nginx_args() {
	printf '%s\n' -p "$state" -c "$conf" -e "$state/logs/error.log"
}

# ours PID succeeds when PID is a live nginx master on our configuration.
ours() {
	[[ -n $1 && -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -q "nginx: master.*$conf"
}

started_pid() {
	[[ -f $pidfile ]] && cat "$pidfile"
}

check_ports() {
	local addr
	for addr in "$https_addr" "$http_addr" "$internal_addr"; do
		if port_open "${addr%:*}" "${addr##*:}"; then
			die "something already listens on $addr"
		fi
	done
}

urls() {
	cat >&2 <<MSG

Gateway (nginx) on https://$https_addr (self-signed: $state/cert.pem)
  http://$http_addr redirects there; the services call each other through http://$internal_addr
  upstreams: ${GATEWAY_BACKEND:-serve} ($(servers auth 8081) ...), Temporal UI $temporal_ui under /temporal/
  logs in $state/logs/

MSG
	if [[ ! -f $web_root/index.html ]]; then
		log "no web app in $web_root yet (cd web && npm ci && npm run build): / answers 404 until then"
	fi
}

start() {
	if ours "$(started_pid)"; then
		log "the gateway started earlier (pid $(started_pid)) is running"
		return
	fi
	check_ports
	render
	local args bin
	bin=$(nginx_bin)
	mapfile -t args < <(nginx_args)
	"$bin" "${args[@]}" -t -q
	"$bin" "${args[@]}"
	wait_until 10 "nginx on $https_addr" port_open "${https_addr%:*}" "${https_addr##*:}"
	urls
	echo gateway
}

stop() {
	local pid
	pid=$(started_pid || true)
	if ! ours "$pid"; then
		log "no gateway started by this script"
		return
	fi
	log "stopping the gateway (pid $pid)"
	kill -QUIT "$pid" 2>/dev/null || true
	local deadline=$((SECONDS + 10))
	while ours "$pid"; do
		if ((SECONDS >= deadline)); then
			log "pid $pid ignored SIGQUIT; terminating it"
			kill -TERM "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.2
	done
}

foreground() {
	check_ports
	render
	local args bin
	bin=$(nginx_bin)
	mapfile -t args < <(nginx_args)
	"$bin" "${args[@]}" -t -q
	urls
	log "Ctrl-C stops it"
	exec "$bin" "${args[@]}" -g 'daemon off;'
}

# check renders into a scratch folder, so a running gateway is left alone,
# and asks nginx whether the configuration holds.
check() {
	local bin args
	bin=$(nginx_bin)
	state=$(mktemp -d)
	conf=$state/conf/nginx.conf
	# shellcheck disable=SC2064 # expand now: state is this scratch folder
	trap "rm -rf '$state'" EXIT
	render
	mapfile -t args < <(nginx_args)
	"$bin" "${args[@]}" -t -q
	log "nginx -t: the configuration holds"
}

case ${1:-} in
start) start ;;
stop) stop ;;
foreground) foreground ;;
test) check ;;
render) render ;;
*) die "usage: $0 start|stop|foreground|test|render" ;;
esac
