# spark-bridge — build, test and run.
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift
CONFIG ?= etc/spark-bridge/config.yaml
BIN = $(shell $(SWIFT) build --show-bin-path)

.PHONY: all build test test-unit test-e2e run demo check deps clean

all: build

deps:
	@scripts/ensure-deps.sh build

build: deps
	$(SWIFT) build

## Starts the bridge in the foreground with $(CONFIG) (default: the shipped, commented config).
run: build
	$(BIN)/spark-bridge --config $(CONFIG)

## Validates $(CONFIG) without starting anything.
check: build
	$(BIN)/spark-bridge --config $(CONFIG) --check

## Starts vllm-sim (port 18888) and the bridge (port 4000) together: try it without a GPU.
demo: build
	@scripts/demo.sh "$(BIN)"

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

clean:
	rm -rf .build .venv
