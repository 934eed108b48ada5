# SPDX-License-Identifier: Apache-2.0
"""Keep-alive while vLLM prefills: once the backend's 200 arrives, a silent stream gets `event: ping`
every `keepalive_seconds` (here 0.2 s), before `message_start` too; the official SDK skips them and
gets the answer; a refused request is still a real HTTP error, not a 200 stream.
(The TypeScript SDK's side — inside the real Claude Code CLI — is in test_claude_code.py.)"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from conftest import Bridge, Sim, bridge_config
from support import ALIAS, ANTHROPIC_HEADERS, directive, sse_events, wait_until

KEEPALIVE_SECONDS = 0.2
TTFT_MS = int(KEEPALIVE_SECONDS * 1000 * 6)  # the first token after six intervals: over keepalive × 3


@pytest.fixture(scope="module")
def keepalive_bridge(start_bridge: Any, sim: Sim) -> Bridge:
    config = bridge_config(sim.url + "/v1", settings={"keepalive_seconds": KEEPALIVE_SECONDS})
    return start_bridge("spark-bridge-keepalive", config, sim)


def body(marker: str, **script: Any) -> dict[str, Any]:
    return {
        "model": ALIAS, "max_tokens": 64, "stream": True,
        "messages": [{"role": "user", "content": f"{marker} " + directive(**script)}],
    }


def test_raw_client_sees_pings_before_the_first_content(keepalive_bridge: Bridge, marker: str) -> None:
    started = time.monotonic()
    seen: list[tuple[str, float]] = []
    with keepalive_bridge.http.stream("POST", "/v1/messages", headers=ANTHROPIC_HEADERS, json=body(marker, text="Slow answer.", ttft_ms=TTFT_MS)) as response:
        assert response.status_code == 200
        for event, _ in sse_events(response.iter_lines()):
            seen.append((event, time.monotonic() - started))
    names = [name for name, _ in seen]
    first = names.index("message_start")
    assert names[:first] and set(names[:first]) == {"ping"}, names
    assert first >= 3, f"expected at least 3 pings during a prefill of {TTFT_MS} ms, got {names[:first]}"
    assert names[-1] == "message_stop"
    print(f"time to first ping: {seen[0][1] * 1000:.0f} ms (keepalive_seconds {KEEPALIVE_SECONDS}); pings before message_start: {first}")


def test_anthropic_sdk_skips_the_pings_and_gets_the_answer(keepalive_bridge: Bridge, marker: str) -> None:
    client = keepalive_bridge.anthropic()
    log_before = len(keepalive_bridge.process.stderr_tail(100000).splitlines())
    with client.messages.stream(**{k: v for k, v in body(marker, text="Patience pays.", ttft_ms=TTFT_MS).items() if k != "stream"}) as stream:
        message = stream.get_final_message()
    assert [block.text for block in message.content] == ["Patience pays."]
    assert message.usage.input_tokens > 0
    # The SDK really read through pings: the request's log line counts them.
    def new_lines() -> list[str]:
        return [l for l in keepalive_bridge.process.stderr_tail(100000).splitlines()[log_before:] if "POST /v1/messages" in l]

    [line] = wait_until(new_lines, timeout=5)
    match = re.search(r"pings=(\d+)", line)
    assert match and int(match.group(1)) >= 3, line


def test_a_refused_request_is_still_an_http_error(keepalive_bridge: Bridge, marker: str) -> None:
    refused = body(marker, error={"status": 400, "message": "This model's maximum context length is 32768 tokens. However, your request has 40000 input tokens. Please reduce the length of the input messages. (parameter=input_tokens, value=40000)"})
    response = keepalive_bridge.http.post("/v1/messages", headers=ANTHROPIC_HEADERS, json=refused)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["type"] == "invalid_request_error"
    too_large = body(marker, error={"status": 413, "message": "Request Entity Too Large"})
    assert keepalive_bridge.http.post("/v1/messages", headers=ANTHROPIC_HEADERS, json=too_large).status_code == 413


def test_no_pings_when_the_stream_is_never_silent(keepalive_bridge: Bridge, marker: str) -> None:
    with keepalive_bridge.http.stream("POST", "/v1/messages", headers=ANTHROPIC_HEADERS, json=body(marker, text="Quick.")) as response:
        names = [event for event, _ in sse_events(response.iter_lines())]
    # The translator's own ping after the first block start, and no keep-alive ping.
    assert names.count("ping") == 1 and names.index("ping") > names.index("message_start"), names


def test_upstream_calls_are_counted_per_request(keepalive_bridge: Bridge, marker: str) -> None:
    def counted() -> float:
        text = keepalive_bridge.http.get("/metrics").text
        lines = [line for line in text.splitlines() if line.startswith("spark_bridge_upstream_calls_total") and f'alias="{ALIAS}"' in line]
        return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0

    before = counted()
    response = keepalive_bridge.http.post("/v1/messages", headers=ANTHROPIC_HEADERS, json={**body(marker, text="One call."), "stream": False})
    assert response.status_code == 200
    # The request is counted when its log line is written, just after the response's last byte.
    assert wait_until(lambda: counted() == before + 1, timeout=5)
