# wam — build, run and test.
#
#   make build            bin/wam
#   make run              build, then `wam serve` (demo mode without META_APP_SECRET)
#   make test             gofmt check, vet, staticcheck, all tests (Go, then the web app's)
#   make ui               the web app (ui/, Node 20): npm ci when needed, vite build into ui/dist
#   make ui-test          the web app's unit tests (vitest)
#   make e2e              the web app end to end (chromium) against bin/wam serve --demo
#   make generate         regenerate sql/db (sqlc) and api/apigen (oapi-codegen)
#   make check-generated  fail if the committed generated code is stale
#   make bench            benchmarks
#   make reliability      fault scenarios against real servers (not in make test)
#   make tools            install sqlc and staticcheck if missing
#
# Tests that need PostgreSQL start a private server from the machine's
# binaries, or use WAM_TEST_DATABASE_URL if set (see sql/pgtest).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

GO ?= go
# Tools installed with `go install` land here; put it on PATH so that
# commands installed by this Makefile are found by it.
GOBIN_DIR := $(or $(shell $(GO) env GOBIN),$(firstword $(subst :, ,$(shell $(GO) env GOPATH)))/bin)
export PATH := $(GOBIN_DIR):$(PATH)

SQLC_VERSION ?= v1.31.1
STATICCHECK_VERSION ?= v0.8.2
TEST_TIMEOUT ?= 20m
# Extra flags, e.g. `make test TESTFLAGS=-race` or `make bench BENCH=Projector`.
TESTFLAGS ?=
BENCH ?= .
# -trimpath: no local paths in the binary, so builds are reproducible.
BUILDFLAGS ?= -trimpath

# `go install tool@version` builds outside this module; the user's GOFLAGS
# (say -mod=vendor) must not leak into it.
GO_INSTALL := GOFLAGS= $(GO) install

.PHONY: apidocs build run ui ui-deps ui-test e2e test vet staticcheck generate check-generated tools install-staticcheck install-sqlc bench reliability clean

build: ui
	$(GO) build $(BUILDFLAGS) -o bin/wam ./cmd/wam

# The web app (ui/), embedded into the binary from ui/dist: built before
# the Go build. npm ci runs when node_modules is missing or older than the
# lock file.
UI_SOURCES := $(shell find ui/src ui/index.html ui/vite.config.ts ui/tsconfig.json ui/package.json api/openapi.yaml -type f 2>/dev/null)
ui: ui/dist/index.html

ui/dist/index.html: ui/node_modules/.package-lock.json $(UI_SOURCES)
	cd ui && npm run build

ui-deps: ui/node_modules/.package-lock.json

ui/node_modules/.package-lock.json: ui/package-lock.json
	@command -v npm >/dev/null || { echo "make ui: Node 20 and npm are needed to build the web app (apt-get install nodejs npm, or nodejs.org)" >&2; exit 1; }
	cd ui && npm ci --no-audit --no-fund
	@touch $@

ui-test: ui-deps
	cd ui && npm test

# End to end: chromium (apt-get install chromium) driven by playwright-core
# against a fresh `bin/wam serve --demo`; screenshots go to ui/artifacts/.
e2e: build ui-deps
	cd ui && npm run e2e

# Demo mode (Meta simulated in this process, a demo tenant, customers
# writing in) unless META_APP_SECRET is set or WAM_DEMO=false.
run: build
	@if [ -z "$${META_APP_SECRET:-}" ] && [ "$${WAM_DEMO:-}" != "false" ]; then \
		echo "make run: demo mode: Meta's Graph API is simulated in-process and simulated customers write in."; \
		echo "make run: set META_APP_SECRET (and WEBHOOK_VERIFY_TOKEN) to serve a real Meta app, or WAM_DEMO=false."; \
		exec ./bin/wam serve --demo; \
	else \
		echo "make run: serving for a real Meta app (META_APP_SECRET is set)."; \
		exec ./bin/wam serve; \
	fi

test: vet staticcheck
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(TESTFLAGS) ./...
	$(MAKE) ui-test e2e

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "not gofmt-ed (run gofmt -w): $$unformatted" >&2; exit 1; fi
	$(GO) vet ./...

staticcheck: install-staticcheck
	staticcheck ./...

# sqlc: sql/db from sql/queries; oapi-codegen (a tool of go.mod, run with
# `go tool`): api/apigen from api/openapi.yaml.
GENERATED := sql/db api/apigen
generate: install-sqlc
	sqlc generate
	$(GO) generate ./api/apigen

# Generated code is committed; CI fails when it is stale or was edited by hand.
check-generated: generate
	@git diff --exit-code -- $(GENERATED) || { echo "generated code is out of date: run 'make generate' and commit the result" >&2; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard -- $(GENERATED)); \
	if [ -n "$$untracked" ]; then \
		echo "generated files that are not committed: $$untracked" >&2; \
		echo "run 'make generate' and commit the result" >&2; exit 1; fi

# Tools, installed into $(GOBIN_DIR) when missing.
tools: install-sqlc install-staticcheck

install-staticcheck:
	@if command -v staticcheck >/dev/null; then echo "staticcheck: $$(command -v staticcheck)"; else \
		echo "installing staticcheck@$(STATICCHECK_VERSION) into $(GOBIN_DIR)"; \
		$(GO_INSTALL) honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION); fi

# The generated files name the sqlc version that made them, so any other
# version would make check-generated fail: install the pinned one if needed.
install-sqlc:
	@if [ "$$(sqlc version 2>/dev/null)" = "$(SQLC_VERSION)" ]; then echo "sqlc $(SQLC_VERSION): $$(command -v sqlc)"; else \
		echo "installing sqlc@$(SQLC_VERSION) into $(GOBIN_DIR)"; \
		$(GO_INSTALL) github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION); fi

# Swagger UI for /api-docs, embedded from api/apidocs: refresh it from npm.
SWAGGER_UI_VERSION ?= 5.35.0
apidocs:
	tmp=$$(mktemp -d) && cd $$tmp && npm pack swagger-ui-dist@$(SWAGGER_UI_VERSION) --silent >/dev/null && tar xzf swagger-ui-dist-*.tgz && \
	cp package/swagger-ui-bundle.js package/swagger-ui.css package/LICENSE $(CURDIR)/api/apidocs/ && rm -rf $$tmp

bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -timeout $(TEST_TIMEOUT) $(TESTFLAGS) ./...

# Fault scenarios against real `wam serve` processes, each on a fresh data
# dir: PostgreSQL stalled (SIGSTOP) and killed, wam killed, odd text. Prints
# a table of webhooks acked, found, lost and duplicated, the p99 during the
# fault and the time to recover. About 5 minutes; e.g.
# `make reliability RELIABILITY_FLAGS="--scenarios pg-stall --fault 20s"`.
RELIABILITY_FLAGS ?=
reliability: build
	./bin/wam bench reliability $(RELIABILITY_FLAGS)

clean:
	rm -rf bin ui/node_modules ui/artifacts
	find ui/dist -mindepth 1 ! -name .gitkeep -delete 2>/dev/null || true
