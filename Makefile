# Ticketflow's everyday commands. `make` alone lists them; the scripts they
# call live in scripts/ and say which environment variables they read.

# The Go release to build with, as scripts/lib.sh pins it (fetched once from
# the Go module proxy when the machine's Go is another release).
export GOTOOLCHAIN ?= go1.26.10

.DEFAULT_GOAL := help
.PHONY: help build run test chaos temporal gateway replicas migrate vet fmt clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-9s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/ticketflow
	go build -o bin/ticketflow ./cmd/ticketflow

run: ## run everything locally (services, database, Temporal, ticketflow dev) until Ctrl-C
	scripts/run.sh

test: ## go vet and every test, against real services it starts if needed
	scripts/test.sh

chaos: ## the fault suite: restarts and kills under load, then counts lost and duplicated work (RELIABILITY.md)
	scripts/chaos.sh

temporal: ## Temporal dev server in the foreground (gRPC 7233, UI 8233, state in .data/)
	scripts/temporal.sh foreground

gateway: ## nginx gateway in the foreground (https://127.0.0.1:8443, state in .data/gateway/)
	scripts/gateway.sh foreground

replicas: ## two replicas of every service and two workers behind the gateway, until Ctrl-C
	scripts/replicas.sh

migrate: build ## migrate every service's schema in DATABASE_URL
	bin/ticketflow migrate

vet: ## go vet
	go vet ./...

fmt: ## gofmt the Go code
	git ls-files -z --cached --others --exclude-standard '*.go' | xargs -0 -r gofmt -w

clean: ## remove bin/ and .data/ (not while the scripts have something running)
	@if [ -e .data/started-services ] || [ -e .data/temporal.pid ] || [ -e .data/gateway/nginx.pid ]; then \
		echo "clean: stop first: scripts/gateway.sh stop; scripts/temporal.sh stop; scripts/services.sh down" >&2; exit 1; fi
	rm -rf bin .data
