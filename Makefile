# faultbook — everything a fresh machine with only Go needs.
#   make run    build and run the whole catalogue on the embedded defaults; reports in runs/latest
#   make test   install what the tests need (headless Chromium), then run every test
#   make bench  one table of ratios, each against its baseline in the same run (README, Performance)
#   make fuzz   every fuzz target of the module for FUZZTIME each (make fuzz FUZZTIME=60s)

GO       ?= go
BIN      := bin/faultbook
OUT      ?= runs/latest
GOFLAGS  ?=
FUZZTIME ?= 10s
export GOFLAGS

# Debian's headless Chromium, for the HTML report's browser test.
CHROME_PKG := chromium-headless-shell
CHROME_BIN := /usr/lib/chromium/chromium-headless-shell

.PHONY: all build run test test-short bench fuzz browser vet clean gate baseline

all: build

# faultbook-node and faultbook-driver, beside faultbook, run only the executor
# role and a cluster-mode driver: clusters start them when they come from the
# same build (README, Performance).
build:
	CGO_ENABLED=0 $(GO) build -o $(BIN) ./cmd/faultbook
	CGO_ENABLED=0 $(GO) build -o $(BIN)-node ./cmd/faultbook-node
	CGO_ENABLED=0 $(GO) build -o $(BIN)-driver ./cmd/faultbook-driver

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

# Each benchmark measures against its baseline in the same run; the raw output
# goes to $(BENCH_OUT) and `faultbook bench-table` prints the table of ratios
# (README, Performance). About two minutes on 2 cores.
BENCH_OUT ?= runs/bench.txt
bench: build
	@mkdir -p $(dir $(BENCH_OUT)) && : > $(BENCH_OUT)
	@set -e; for b in "CodecVsGob 200x ./minicluster/codec/" "ShuffleFetch 20x ./minicluster/block/" \
		"Boot$$|Docker3Nodes 5x ./minicluster/cluster/" "RunPhases 40x ./minicluster/cluster/" \
		"CellRuns|SafeguardOverhead 1x ./scenarios/" \
		"Diagnose 2x ./harness/diagnose/"; do \
		set -- $$b; echo "go test -bench '$$1' -benchtime $$2 $$3"; \
		$(GO) test -run '^$$' -bench "$$1" -benchtime $$2 -timeout 10m $$3 >> $(BENCH_OUT) 2>&1 || { cat $(BENCH_OUT); exit 1; }; \
	done
	@./$(BIN) bench-table $(BENCH_OUT)

# Every fuzz target in the module, found by name, one after another: go test
# fuzzes one target at a time. Seed corpora live in each package's
# testdata/fuzz/, where a failing input is written too. A run that fails with
# only "context deadline exceeded" and writes no input is the Go 1.26 fuzz
# coordinator's race at the end of -fuzztime (go.dev/issue/75804), not a
# finding: it is reported and the next target runs.
fuzz:
	@set -e; log=$$(mktemp); trap 'rm -f $$log $$log.failed' EXIT; \
	for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for target in $$(grep -h -o '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go | cut -d' ' -f2); do \
			echo "fuzz $$dir $$target for $(FUZZTIME)"; rm -f $$log.failed; \
			{ $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$dir 2>&1 || touch $$log.failed; } | tee $$log; \
			if [ -e $$log.failed ]; then \
				if grep -q 'context deadline exceeded' $$log && ! grep -q 'Failing input written to' $$log; then \
					echo "fuzz $$target: stopped by the toolchain's fuzztime race (go.dev/issue/75804), no failing input"; \
				else \
					exit 1; \
				fi; \
			fi; \
		done; \
	done

clean:
	rm -rf bin runs

# The CI gate: run the catalogue and its matrix and compare with the committed baseline.
gate: build
	./$(BIN) gate --baseline fixtures/baseline.json --all --out runs/gate --quiet

baseline: build
	rm -rf runs/baseline
	./$(BIN) run --all --matrix --out runs/baseline --quiet
	./$(BIN) gate --write-baseline fixtures/baseline.json runs/baseline/results.json
