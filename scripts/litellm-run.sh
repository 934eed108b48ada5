#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Starts the LiteLLM proxy that `make bench` compares spark-bridge against, in the foreground, the way
# a user starts it by hand: `litellm --config litellm_config.yaml`, one uvicorn process, no database.
# Usage: SIM_API_BASE=http://127.0.0.1:SIMPORT/v1 LITELLM_MASTER_KEY=sk-... scripts/litellm-run.sh [PORT] [litellm options...]
#   PORT defaults to 0 (a free port). The process execs into litellm, so its pid is this script's
#   pid: SIGTERM stops it (in well under a second when idle).
#   It prints "Uvicorn running on http://127.0.0.1:PORT (Press CTRL+C to quit)" on stderr once it
#   listens; it only listens after startup is complete, so GET /health/readiness answering 200
#   (no key needed) means ready. It writes one access-log line per request to stdout: send stdout
#   and stderr to files (a pipe nobody reads would stall it). See Benchmarks/litellm/NOTES.md.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${SIM_API_BASE:-}" ]; then
    echo "litellm-run: set SIM_API_BASE to the backend's base URL, e.g. http://127.0.0.1:18888/v1" >&2
    exit 2
fi
if [ -z "${LITELLM_MASTER_KEY:-}" ]; then
    echo "litellm-run: set LITELLM_MASTER_KEY, e.g. sk-\$(openssl rand -hex 16): LiteLLM refuses to start without one" >&2
    exit 2
fi
port=${1:-0}
if [ $# -gt 0 ]; then shift; fi

# LITELLM_EXECUTABLE skips the venv check (spark-bench passes it, so its start-to-ready time is LiteLLM's).
litellm=${LITELLM_EXECUTABLE:-$(scripts/litellm-venv.sh | tail -n 1)}

# Offline and quiet: the bundled model cost map instead of fetching it from GitHub at every start,
# no telemetry, default log level. Variables that would change what is measured are cleared:
# a database (spend logs, key lookups), HOST/PORT (click reads them as --host/--port), log settings.
unset DATABASE_URL DIRECT_URL DATABASE_URL_READ_REPLICA REDIS_HOST REDIS_URL LITELLM_LOG \
    LITELLM_MODE HOST PORT DEFAULT_NUM_WORKERS_LITELLM_PROXY JSON_LOGS
export LITELLM_LOCAL_MODEL_COST_MAP=True
export LITELLM_TELEMETRY_DISABLED=True
exec "$litellm" --config Benchmarks/litellm_config.yaml --host 127.0.0.1 --port "$port" "$@"
