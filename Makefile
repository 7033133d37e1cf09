# faultbook — everything a fresh machine with only Go needs.
#   make run    build and run the whole catalogue on the embedded defaults; reports in runs/latest
#   make test   install what the tests need (headless Chromium), then run every test
#   make bench  codec vs encoding/gob, shuffle vs raw loopback TCP, cluster boot time

GO       ?= go
BIN      := bin/faultbook
OUT      ?= runs/latest
GOFLAGS  ?=
export GOFLAGS

# Debian's headless Chromium, for the HTML report's browser test.
CHROME_PKG := chromium-headless-shell
CHROME_BIN := /usr/lib/chromium/chromium-headless-shell

.PHONY: all build run test test-short bench browser vet clean gate baseline

all: build

build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/faultbook

run: build
	rm -rf $(OUT)
	./$(BIN) run --all --matrix --out $(OUT)

vet:
	$(GO) vet ./...

# The browser test needs Chromium; install it from Debian when it is missing.
browser:
	@if [ -x "$(CHROME_BIN)" ] || command -v $(CHROME_PKG) >/dev/null 2>&1; then \
		echo "headless Chromium present"; \
	else \
		echo "installing $(CHROME_PKG) from Debian"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(CHROME_PKG) >/dev/null; \
	fi

test: browser vet
	FAULTBOOK_REQUIRE_BROWSER=1 TESTCONTAINERS_RYUK_DISABLED=true $(GO) test -count=1 -timeout 8m ./...

test-short: vet
	$(GO) test -count=1 -short -timeout 5m ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 200x ./minicluster/codec/
	$(GO) test -run '^$$' -bench . -benchtime 20x ./minicluster/block/ ./minicluster/cluster/

clean:
	rm -rf bin runs

# The CI gate: run the catalogue and its matrix and compare with the committed baseline.
gate: build
	./$(BIN) gate --baseline fixtures/baseline.json --all --out runs/gate --quiet

baseline: build
	rm -rf runs/baseline
	./$(BIN) run --all --matrix --out runs/baseline --quiet
	./$(BIN) gate --write-baseline fixtures/baseline.json runs/baseline/results.json
