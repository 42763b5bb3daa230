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
#   TEMPORAL_UI_PUBLIC_PATH  base path of its UI (default /temporal; empty for /)
#   TEST_WEB               0 skips the web app's tests (typecheck, vitest, build, browser e2e)
#   TEST_FUZZTIME          how long each fuzz target runs (default 5s; 0 skips the
#                          fuzz phase); longer runs: RELIABILITY.md, Hostile input
#   TEST_AUDIT             0 skips govulncheck and npm audit (npm audit needs the
#                          registry's audit endpoint, and skips, saying so, without it)
#   TICKETFLOW_REQUIRE_ALL 1 (the default here and in .ci/run): a test that
#                          lacks a tool (nginx, ...) fails instead of skipping;
#                          0 lets such tests skip, saying so
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

export TICKETFLOW_REQUIRE_ALL=${TICKETFLOW_REQUIRE_ALL:-1}

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
	# Its UI under /temporal, as the gateway expects it (scripts/replicas.sh
	# and compose do the same). No test asserts on a page of the UI at
	# 127.0.0.1:8233 (the browser test's new tab goes there, and checks only
	# that it was sent), and a server already running is used as it is: the
	# test of the real UI behind the gateway starts its own
	# (deploy/temporal_ui_test.go).
	started_temporal=$(TEMPORAL_DB=${TEMPORAL_DB-memory} TEMPORAL_UI_PUBLIC_PATH=${TEMPORAL_UI_PUBLIC_PATH-/temporal} scripts/temporal.sh start)
	scripts/temporal.sh wait
	;;
esac
log "services ready in $((SECONDS - begin))s"

# The scripts parse (bash -n; sh -n for the POSIX ones compose runs in
# containers), and pass shellcheck where it is installed (.ci/run installs
# Debian's).
check_scripts() {
	local f
	for f in scripts/*.sh .ci/run; do
		bash -n "$f" || die "$f does not parse"
	done
	for f in deploy/*/*.sh; do
		sh -n "$f" || die "$f does not parse"
	done
	if command -v shellcheck >/dev/null; then
		shellcheck -x scripts/*.sh .ci/run deploy/*/*.sh
	else
		log "shellcheck is not installed (apt-get install -y shellcheck): only bash -n"
	fi
}
phase "scripts" check_scripts

if command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]]; then
	phase "nginx -t" scripts/gateway.sh test
elif [[ $TICKETFLOW_REQUIRE_ALL == 1 ]]; then
	die "nginx is not installed (apt-get install -y nginx-light; .ci/run installs it); TICKETFLOW_REQUIRE_ALL=0 lets the gateway tests skip"
else
	log "nginx is not installed (.ci/run installs it): no nginx -t, and the gateway tests skip"
fi
# go.mod names what the code imports, and nothing it does not.
phase "go mod tidy" go mod tidy -diff
phase "go vet" go vet "${packages[@]}"
# The fault suite (make chaos) is too long for make test; its code is
# vetted here all the same, so that it keeps compiling.
phase "go vet (chaos)" go vet -tags chaos ./deploy/
phase "go test" go test "${race[@]}" -count=1 -timeout 12m "${extra[@]}" "${packages[@]}"

# Every decoder of outside input has a fuzz target beside it; each runs
# for TEST_FUZZTIME (Go fuzzes one target per invocation). New inputs that
# fail are saved under the package's testdata/fuzz and replayed by go test.
fuzz_targets=(
	"./internal/httpx FuzzDecode"
	"./internal/cursor FuzzDecode"
	"./internal/events FuzzParse"
	"./internal/authn FuzzVerify"
	"./workflows FuzzDefinitionValidate"
	"./api/messaging FuzzUpload"
	"./api/messaging FuzzFrames"
	"./api/notification FuzzParseMail"
)
# fuzz_one runs one target. A failing input the fuzzer found is saved under
# the package's testdata/fuzz/<target> and fails the phase at once; a run
# that fails without one (the fuzzing engine's own hiccup on a loaded
# machine, such as a worker it considered hung) is tried once more.
# count_inputs prints how many saved inputs a corpus folder holds (0 when
# there is none yet).
count_inputs() {
	local n=0
	if [[ -d $1 ]]; then
		n=$(find "$1" -type f | wc -l)
	fi
	echo "$n"
}
fuzz_one() {
	local pkg=$1 name=$2 out corpus before try
	out=$(mktemp)
	corpus="${pkg#./}/testdata/fuzz/${name}"
	before=$(count_inputs "$corpus")
	for try in 1 2; do
		if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" >"$out" 2>&1; then
			rm -f "$out"
			return 0
		fi
		if (($(count_inputs "$corpus") > before)); then
			break
		fi
		log "fuzzing ${name} in ${pkg} failed without a failing input (try ${try}):"
		tail -n 20 "$out" >&2
	done
	tail -n 40 "$out" >&2
	rm -f "$out"
	die "fuzzing ${name} in ${pkg} failed: rerun go test -run '^\$' -fuzz '^${name}\$' -fuzztime ${fuzztime} ${pkg}"
}
fuzz_all() {
	local target pkg name
	for target in "${fuzz_targets[@]}"; do
		read -r pkg name <<<"$target"
		fuzz_one "$pkg" "$name"
	done
}
fuzztime=${TEST_FUZZTIME:-5s}
if [[ $fuzztime != 0 && $fuzztime != 0s ]]; then
	phase "go fuzz (${#fuzz_targets[@]} targets, ${fuzztime} each)" fuzz_all
fi

# Known vulnerabilities: govulncheck on the module and npm audit on the web
# app's production dependencies; a finding fails the step.
#
# govulncheck reads the Go vulnerability database of the pinned
# golang.org/x/vulndb module (its data/osv, indexed by the module's own
# cmd/indexdb into .data/vulndb/ once), which the Go module proxy serves:
# the scan needs no other network access. Raise vulndb_version (a
# pseudo-version of golang.org/x/vulndb) to check against newer advisories.
govulncheck_version=v1.9.0
vulndb_version=v0.0.0-20261105234957-e22db6528018
vulndb() {
	local db=.data/vulndb/$vulndb_version src
	if [[ ! -f $db/index/db.json ]]; then
		src=$(go mod download -json "golang.org/x/vulndb@$vulndb_version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
		if [[ ! -d $src/data/osv ]]; then
			log "golang.org/x/vulndb@$vulndb_version: no data/osv in the module"
			return 1
		fi
		rm -rf "$db.tmp"
		mkdir -p "$(dirname "$db")"
		go run "golang.org/x/vulndb/cmd/indexdb@$vulndb_version" -vulns "$src/data/osv" -out "$db.tmp" >&2
		mv "$db.tmp" "$db"
	fi
	printf 'file://%s/%s\n' "$PWD" "$db"
}
vulncheck() {
	local db
	db=$(vulndb) || return 1
	log "govulncheck against the database of golang.org/x/vulndb@$vulndb_version"
	go run "golang.org/x/vuln/cmd/govulncheck@${govulncheck_version}" -db "$db" ./...
}
npm_audit() {
	local out status=0
	out=$(cd web && npm audit --omit=dev 2>&1) || status=$?
	if ((status != 0)) && grep -Eq "audit endpoint returned an error|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|network" <<<"$out"; then
		log "npm audit SKIPPED: the registry's audit endpoint does not answer here"
		return 0
	fi
	printf '%s\n' "$out"
	return "$status"
}
if [[ ${TEST_AUDIT:-1} != 0 ]]; then
	phase "govulncheck" vulncheck
	if [[ -f web/package-lock.json ]] && command -v npm >/dev/null; then
		phase "npm audit" npm_audit
	fi
fi

# The web app: types, unit tests, build, then the browser test against a
# backend it starts itself (web/e2e/run.mjs). TEST_WEB=0 skips it.
# node_at_least MAJOR MINOR succeeds when the node on PATH is that release
# or newer.
node_at_least() {
	local v major minor
	v=$(node -p 'process.versions.node' 2>/dev/null) || return 1
	major=${v%%.*} minor=${v#*.}
	minor=${minor%%.*}
	((major > $1 || (major == $1 && minor >= $2)))
}
web_tests() {
	node_at_least 20 19 || die "the web app needs Node.js 20.19 or newer (found $(node --version 2>/dev/null || echo none)); see README, Web app"
	(
		cd web
		# node_modules as package-lock.json says: installed afresh when
		# missing or older than the lock file (npm writes its own copy,
		# node_modules/.package-lock.json, at every install).
		if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
			npm ci --no-audit --no-fund
		fi
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
