#!/usr/bin/env bash
# Starts vllm-sim and spark-bridge together (Ctrl-C stops both): a bridge to try without a GPU.
set -euo pipefail
bin="$1"
"$bin/vllm-sim" --port 18888 --tokens-per-second 40 --ttft-ms 150 &
sim=$!
trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null' EXIT
sleep 0.5
cat <<MSG

  Demo bridge on http://127.0.0.1:4000 (backend: vllm-sim on :18888, answers are canned).
  Try:  curl -sN http://127.0.0.1:4000/v1/messages -H 'content-type: application/json' \\
          -d '{"model":"claude-sonnet-4-5","max_tokens":200,"stream":true,"messages":[{"role":"user","content":"hi"}]}'
  Or:   ANTHROPIC_BASE_URL=http://127.0.0.1:4000 ANTHROPIC_API_KEY=demo claude

MSG
"$bin/spark-bridge" --config etc/demo/demo.yaml
