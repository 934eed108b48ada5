# SPDX-License-Identifier: Apache-2.0
"""Concurrency smoke test for an Anthropic Messages endpoint (LiteLLM or spark-bridge) over vllm-sim.

Not the benchmark: a quick check that a proxy survives N concurrent clients, and what its latency
looks like, when LiteLLM is upgraded. Runs with the LiteLLM venv's Python (it has httpx):

    KEY=$LITELLM_MASTER_KEY .venv-litellm/bin/python Benchmarks/litellm/concurrency_smoke.py \
        http://127.0.0.1:4000 64 stream          # or nonstream
    env: ROUNDS (requests per client, 3), WORDS (answer length in sim tokens, 32), TPS (sim tokens/s, 50)

Each answer is scripted with a [[sim:...]] directive (ttft_ms 50). Prints HTTP statuses, errors,
the shape of each answer (content_block_delta count and last event), TTFT to the first
content_block_delta, and request durations.
"""

import asyncio
import collections
import json
import os
import sys
import time

import httpx


def main() -> None:
    base, clients, mode = sys.argv[1].rstrip("/"), int(sys.argv[2]), sys.argv[3]
    if mode not in ("stream", "nonstream"):
        sys.exit("mode must be stream or nonstream")
    rounds = int(os.environ.get("ROUNDS", "3"))
    words = int(os.environ.get("WORDS", "32"))
    tps = float(os.environ.get("TPS", "50"))
    text = " ".join(f"w{i}" for i in range(words))
    directive = "[[sim:" + json.dumps({"text": text, "ttft_ms": 50, "tokens_per_second": tps}) + "]]"
    headers = {"x-api-key": os.environ.get("KEY", "none"), "anthropic-version": "2023-06-01"}
    stream = mode == "stream"
    statuses: collections.Counter = collections.Counter()
    errors: collections.Counter = collections.Counter()
    shapes: collections.Counter = collections.Counter()
    ttfts: list[float] = []
    durations: list[float] = []

    async def one(client: httpx.AsyncClient, number: int) -> None:
        body = {
            "model": "claude-sonnet-4-5",
            "max_tokens": 256,
            "stream": stream,
            "messages": [{"role": "user", "content": f"request {number} {directive}"}],
        }
        start = time.perf_counter()
        try:
            if stream:
                async with client.stream("POST", base + "/v1/messages", json=body, headers=headers) as response:
                    statuses[response.status_code] += 1
                    deltas, first, last = 0, None, None
                    async for line in response.aiter_lines():
                        if line.startswith("event:"):
                            last = line[6:].strip()
                            if last == "content_block_delta":
                                deltas += 1
                                if first is None:
                                    first = time.perf_counter() - start
                    shapes[f"{deltas} deltas, last {last}"] += 1
                    if first is not None:
                        ttfts.append(first)
            else:
                response = await client.post(base + "/v1/messages", json=body, headers=headers)
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    same = response.json()["content"][0]["text"] == text
                    shapes["text as scripted" if same else "text DIFFERS"] += 1
                else:
                    errors[response.text[:160]] += 1
            durations.append(time.perf_counter() - start)
        except Exception as error:  # noqa: BLE001 - every failure is counted and shown
            errors[f"{type(error).__name__}: {str(error)[:120]}"] += 1

    async def client_loop(client: httpx.AsyncClient, index: int) -> None:
        for round_number in range(rounds):
            await one(client, index * 1000 + round_number)

    async def run() -> float:
        limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
        timeout = httpx.Timeout(300, connect=60, pool=300)
        async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
            start = time.perf_counter()
            await asyncio.gather(*(client_loop(client, index) for index in range(clients)))
            return time.perf_counter() - start

    wall = asyncio.run(run())

    def ms(values: list[float], q: float) -> str:
        if not values:
            return "-"
        ordered = sorted(values)
        return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.0f}"

    print(f"{mode} clients={clients} rounds={rounds} wall={wall:.1f}s statuses={dict(statuses)} errors={dict(errors)}")
    print(f"  answers: {dict(shapes)}")
    if stream:
        print(f"  ttft ms p50={ms(ttfts, .5)} p90={ms(ttfts, .9)} p99={ms(ttfts, .99)} max={ms(ttfts, 1)}")
    ideal = 50 + words / tps * 1000 if tps else 50
    print(f"  duration ms p50={ms(durations, .5)} p90={ms(durations, .9)} p99={ms(durations, .99)} "
          f"max={ms(durations, 1)} (unloaded: ~{ideal:.0f})")
    sys.exit(1 if errors or set(statuses) - {200} else 0)


if __name__ == "__main__":
    main()
