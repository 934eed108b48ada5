#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages spark-bridge builds and tests with, when they are missing.
# Usage: scripts/ensure-deps.sh [build|test|package]   (test adds what the end-to-end tests need,
# package what make deb, lint-deb and system-test need)
set -euo pipefail
packages=(libsystemd-dev libcurl4-openssl-dev libyaml-dev pkg-config)
if [ "${1:-build}" = test ]; then
    packages+=(python3-venv curl systemd groff-base iproute2 tmux valgrind openssl)  # openssl: the test CA of the Anthropic-deployment tests; groff: the man-page render tests; iproute2: lo up in the e2e network namespace; tmux: sparkctl top; valgrind: the instruction-count smoke test
fi
if [ "${1:-build}" = package ]; then
    packages+=(dpkg-dev lintian debootstrap systemd-container)
fi
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "ensure-deps: installing ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ! command -v swift >/dev/null 2>&1 && [ ! -x /opt/swift/usr/bin/swift ]; then
    echo "ensure-deps: no Swift toolchain found (expected swift on PATH or /opt/swift/usr/bin/swift)" >&2
    exit 1
fi
