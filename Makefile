# spark-bridge — build, test and run.
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)
SWIFT ?= swift

.PHONY: all build test test-unit deps clean

all: build

deps:
	@scripts/ensure-deps.sh build

build: deps
	$(SWIFT) build

## Runs every test: the translation core, the JSON and configuration layers, and the upstream transport against local sockets.
test:
	@scripts/ensure-deps.sh test
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

clean:
	rm -rf .build
