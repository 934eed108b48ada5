# spark-bridge — build, test and run.
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift
CONFIG ?=
BIN = $(shell $(SWIFT) build --show-bin-path)

.PHONY: all build test test-unit test-e2e run demo check deps clean

all: build

deps:
	@scripts/ensure-deps.sh build

build: deps
	$(SWIFT) build

## Without CONFIG=: starts vllm-sim and the bridge in front of it on http://127.0.0.1:4000 (PORT=
## changes it), prints a curl and a Claude Code line to try, and stops both on Ctrl-C: no GPU, no
## config, no network needed. With CONFIG=path: the bridge alone, in the foreground, on that config.
run: build
ifeq ($(strip $(CONFIG)),)
	@scripts/run-demo.sh "$(BIN)"
else
	$(BIN)/spark-bridge --config $(CONFIG)
endif

## The same as `make run` without CONFIG=.
demo: build
	@scripts/run-demo.sh "$(BIN)"

## Validates $(CONFIG) (default: the shipped etc/spark-bridge/config.yaml) without starting anything.
check: build
	$(BIN)/spark-bridge --config $(or $(strip $(CONFIG)),etc/spark-bridge/config.yaml) --check

## Runs every test: unit suites (translation core, JSON, config, upstream transport, simulator)
## and the end-to-end suite (real processes, official anthropic and openai SDKs).
test: test-unit test-e2e

test-unit:
	@scripts/ensure-deps.sh test
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

test-e2e:
	@scripts/ensure-deps.sh test
	@if [ -x scripts/run-e2e.sh ]; then scripts/run-e2e.sh; else echo "run-e2e: no end-to-end suite yet"; fi

## libFuzzer targets (Fuzz/Targets, seeds in Fuzz/Corpus): the JSON parser, the request translation,
## the SSE decoder and stream translation, the upstream error mapping, the config loader and the
## control-socket line decoder, vLLM's /metrics page and a relayed Anthropic answer's usage, built with -sanitize=fuzzer,address in .build-fuzz (never by `swift
## build`). Each runs FUZZ_RUNS executions (default 200000), or FUZZ_SECONDS seconds when set; a crash,
## trap, leak, input slower than 10 s or process above 2 GiB fails it. FUZZ_TARGETS picks targets;
## FUZZ_ARGS adds libFuzzer options. Prints executions, exec/s and coverage per target.
FUZZ_RUNS ?= 200000
fuzz: deps
	FUZZ_RUNS="$(FUZZ_RUNS)" FUZZ_SECONDS="$(FUZZ_SECONDS)" scripts/fuzz.sh $(FUZZ_TARGETS)

clean:
	rm -rf .build .build-fuzz .venv .venv-litellm

## Idle RSS of the release daemon (the build `make deb` ships) on the shipped config in front of vllm-sim,
## per mapping group from /proc/PID/smaps, then RSS after each of 5 rounds of 200 requests
## (scripts/rss-breakdown.py; --libs there splits the shared libraries, --working-set pages the file-backed
## pages out and shows what serving touches again).
rss: deps
	$(SWIFT) build $(RELEASE_FLAGS) --product spark-bridge
	$(SWIFT) build $(RELEASE_FLAGS) --product vllm-sim
	scripts/rss-breakdown.py --bin "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)" --rounds 5

## Debian package dist/spark-bridge_<version>_<arch>.deb: release build with the Swift runtime linked
## statically, no $ORIGIN rpath, full RELRO, fortified C; stripped, staged from packaging/ and built
## with dpkg-deb. lint-deb: lintian, failing on any warning or info tag not overridden.
RELEASE_FLAGS = -c release --static-swift-stdlib --disable-local-rpath \
	-Xlinker -z -Xlinker relro -Xlinker -z -Xlinker now -Xcc -D_FORTIFY_SOURCE=2
DEB_VERSION = $(shell dpkg-parsechangelog -l packaging/debian/changelog -S Version)
DEB = dist/spark-bridge_$(DEB_VERSION)_$(shell dpkg --print-architecture).deb

deb: deps
	@scripts/ensure-deps.sh package
	$(SWIFT) build $(RELEASE_FLAGS)
	packaging/build-deb.sh "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)" dist

lint-deb: deb
	@command -v lintian >/dev/null || { echo "lint-deb: apt-get install lintian" >&2; exit 1; }
	lintian --fail-on warning,info --info $(DEB)

## The package under a real systemd: a Debian 12 container (systemd-nspawn, root) in which it is
## installed with apt and driven through start, health, streaming, reload, journal, security
## rating, stop, reinstall and purge. Needs root, debootstrap and systemd-container.
system-test: deb
	Tests/system/run.sh $(DEB) "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/vllm-sim"

## Benchmarks (not part of `make test`): vllm-sim reached directly, through spark-bridge and through
## the LiteLLM proxy (installed into .venv-litellm), in one run; core microbenchmarks with allocation
## counts. Release build with the package's flags, so the shipped binary is what is measured.
## Writes BENCHMARKS.md. BENCH_ARGS passes options to spark-bench (e.g. --quick).
bench: deps
	@scripts/ensure-deps.sh test
	$(SWIFT) build $(RELEASE_FLAGS)
	scripts/bench.sh "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)" $(BENCH_ARGS)

.PHONY: deb lint-deb system-test bench fuzz rss
