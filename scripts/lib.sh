# shellcheck shell=bash
# Helpers shared by the scripts in this folder. Source it; apart from the Go
# toolchain below it changes nothing by itself. Messages go to stderr so that
# stdout stays free for results.

# The Go release Ticketflow is built and tested with (go.mod's toolchain
# line): the go command fetches it once from the Go module proxy when the
# machine's own Go is another release. 1.26.10 fixes the standard library's
# vulnerabilities govulncheck finds in earlier 1.26 releases
# (RELIABILITY.md, Known vulnerabilities). GOTOOLCHAIN set by the caller wins.
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.26.10}

# log MESSAGE... prints a line prefixed with the calling script's name.
log() {
	printf '%s: %s\n' "$(basename "$0" .sh)" "$*" >&2
}

# die MESSAGE... logs and exits with status 1.
die() {
	log "$@"
	exit 1
}

# port_open HOST PORT succeeds when something accepts TCP connections there.
port_open() {
	# shellcheck disable=SC2016 # $1 and $2 belong to the inner bash
	timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

# wait_until SECONDS WHAT COMMAND... runs COMMAND every half second until it
# succeeds, or fails after SECONDS naming WHAT.
wait_until() {
	local seconds=$1 what=$2
	shift 2
	local deadline=$((SECONDS + seconds))
	until "$@" >/dev/null 2>&1; do
		if ((SECONDS >= deadline)); then
			log "$what did not answer within ${seconds}s"
			return 1
		fi
		sleep 0.5
	done
}
