# SPDX-License-Identifier: Apache-2.0
"""A misbehaving backend: vllm-sim sends scripted faults (`[[sim:{"fault":{…}}]]`) — numbers out of
every range, `data:` lines that never end an event, 20,000 unnamed tool-call deltas, a 1 byte per
interval drip, a TCP reset mid-stream, an HTML page with status 200 — and a client that stops reading.
Every test asserts the daemon survives (same PID, /health answers) and the client gets a well-formed
answer: an Anthropic message or error body, or a stream that ends with `message_stop` or `event: error`."""

from __future__ import annotations

import os
import socket
import time
from typing import Any, Iterator

import httpx
import pytest

from conftest import Bridge, Sim, bridge_config
from support import ALIAS, ANTHROPIC_HEADERS, CLIENT_TIMEOUT, directive, sse_events, wait_until

IDLE_SECONDS = 2
PAUSED_STREAM_SECONDS = 2
TOTAL_SECONDS = 6
FAULT_TIMEOUTS = (
    "  timeouts:\n"
    f"    idle_seconds: {IDLE_SECONDS}\n"
    f"    paused_stream_seconds: {PAUSED_STREAM_SECONDS}\n"
    f"    total_seconds: {TOTAL_SECONDS}\n"
)
# The SSE decoder's bound on one event (SSEDecoder.defaultMaximumEventLength).
MAXIMUM_EVENT_BYTES = 8 << 20
ERROR_TYPES = {"invalid_request_error", "api_error", "overloaded_error", "not_found_error", "request_too_large", "rate_limit_error"}
STREAMED = pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])


@pytest.fixture(scope="session")
def fault_bridge(start_bridge: Any, sim_large_context: Sim) -> Bridge:
    """Short stream deadlines, in front of a backend with room for answers larger than socket buffers."""
    config = bridge_config(sim_large_context.url + "/v1") + FAULT_TIMEOUTS
    return start_bridge("spark-bridge-faults", config, sim_large_context)


@pytest.fixture(scope="session")
def paused_bridge(start_bridge: Any, sim_large_context: Sim) -> Bridge:
    """A short paused-stream deadline, and no total deadline that could end the test's stream first."""
    config = bridge_config(sim_large_context.url + "/v1") + f"  timeouts:\n    paused_stream_seconds: {PAUSED_STREAM_SECONDS}\n"
    return start_bridge("spark-bridge-paused", config, sim_large_context)


def survives(bridge: Bridge) -> Iterator[Bridge]:
    """`bridge`, checked after the test: still the same process, still answering /health."""
    pid = bridge.process.popen.pid
    yield bridge
    assert bridge.process.alive, "the daemon died"
    assert bridge.process.popen.pid == pid
    assert bridge.http.get("/health").status_code == 200


@pytest.fixture
def survivor(fault_bridge: Bridge) -> Iterator[Bridge]:
    yield from survives(fault_bridge)


@pytest.fixture
def paused_survivor(paused_bridge: Bridge) -> Iterator[Bridge]:
    yield from survives(paused_bridge)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


def ask(bridge: Bridge, marker: str, streamed: bool, fault: dict[str, Any], max_tokens: int = 64) -> tuple[int, Any]:
    """(status, body) for a whole answer, (200, [(event, data)…]) for a stream."""
    body = {
        "model": ALIAS, "max_tokens": max_tokens, "stream": streamed,
        "messages": [{"role": "user", "content": f"{marker} " + directive(fault=fault)}],
    }
    with bridge.http.stream("POST", "/v1/messages", json=body, headers=ANTHROPIC_HEADERS) as response:
        if streamed and response.status_code == 200:
            assert response.headers["content-type"].startswith("text/event-stream")
            return 200, list(sse_events(response.iter_lines()))
        response.read()
        return response.status_code, response.json()


def error_body(status: int, body: Any) -> dict[str, Any]:
    """The `error` of an Anthropic error body, checked for shape."""
    assert status >= 400, body
    assert body["type"] == "error" and body["error"]["type"] in ERROR_TYPES, body
    assert isinstance(body["error"]["message"], str)
    return body["error"]


def stream_error(events: list[tuple[str, Any]]) -> dict[str, Any]:
    """The `error` that ends a well-formed stream that failed (before anything else was sent, the error
    is the whole stream, as Anthropic's API does for an error at the start)."""
    names = [name for name, _ in events]
    assert names[0] in {"message_start", "error"}, names
    assert names[-1] == "error" and "message_stop" not in names, names
    error = events[-1][1]
    assert error["type"] == "error" and error["error"]["type"] in ERROR_TYPES, error
    return error["error"]


def stream_message(events: list[tuple[str, Any]]) -> dict[str, Any]:
    """The usage of a well-formed stream that succeeded."""
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"], names
    return events[-2][1]


@STREAMED
def test_usage_numbers_out_of_range_are_clamped(survivor: Bridge, marker: str, streamed: bool) -> None:
    """prompt and completion tokens 2^63-1, cached tokens -(2^63-1): a normal answer, counts clamped to 2^31-1."""
    status, answer = ask(survivor, marker, streamed, {"kind": "huge_numbers"})
    assert status == 200
    usage = stream_message(answer)["usage"] if streamed else answer["usage"]
    assert usage["input_tokens"] == 2**31 - 1 and usage["output_tokens"] == 2**31 - 1
    assert usage.get("cache_read_input_tokens", 0) == 0


@STREAMED
def test_a_context_length_error_with_a_huge_window_is_a_clean_400(survivor: Bridge, marker: str, streamed: bool) -> None:
    status, answer = ask(survivor, marker, streamed, {"kind": "huge_context_error"})
    error = stream_error(answer) if streamed else error_body(status, answer)
    assert error["type"] == "invalid_request_error"
    assert error["message"] == "prompt is too long: 9223372036854775807 tokens > 9223372036854775807 maximum"
    if not streamed:
        assert status == 400


def test_endless_data_lines_end_the_stream_at_the_event_bound_without_bloating(survivor: Bridge, marker: str) -> None:
    """`data:` lines with no blank line: the stream ends with an error once the event passes 8 MiB, the
    backend request is cancelled, and the daemon's memory grows by far less than what was sent."""
    pid = survivor.process.popen.pid
    before = rss_kib(pid)
    status, events = ask(survivor, marker, True, {"kind": "endless_data"})
    grown = rss_kib(pid) - before
    error = stream_error(events)
    assert error["type"] == "api_error" and f"larger than {MAXIMUM_EVENT_BYTES} bytes" in error["message"]
    assert wait_until(lambda: survivor.sim.requests(marker)[0]["aborted"], 10), "the backend request was not cancelled"
    print(f"RSS before {before} KiB, after {before + grown} KiB: +{grown} KiB under endless data: lines")
    assert grown < 48 * 1024, f"RSS grew by {grown} KiB"


def test_endless_data_to_a_whole_request_is_a_clean_error(survivor: Bridge, marker: str) -> None:
    status, answer = ask(survivor, marker, False, {"kind": "endless_data"})
    # Whichever bound comes first: 64 MiB collected, or total_seconds.
    message = error_body(status, answer)["message"]
    assert "exceeds" in message or "total timeout" in message, message
    assert wait_until(lambda: survivor.sim.requests(marker)[0]["aborted"], 10)


@STREAMED
def test_twenty_thousand_unnamed_tool_deltas(survivor: Bridge, marker: str, streamed: bool) -> None:
    """20,000 tool-call deltas, none named: no tool_use block can open; the stream ends normally (a
    whole request, answered with a stream, is a clean error)."""
    status, answer = ask(survivor, marker, streamed, {"kind": "tool_deltas", "count": 20_000})
    if streamed:
        assert [name for name, _ in answer] == ["message_start", "message_delta", "message_stop"]
    else:
        assert "not valid JSON" in error_body(status, answer)["message"]


@STREAMED
def test_a_drip_that_never_finishes_ends_at_the_total_deadline(survivor: Bridge, marker: str, streamed: bool) -> None:
    """A byte every 200 ms never trips idle_seconds; total_seconds ends it, and the backend request."""
    status, answer = ask(survivor, marker, streamed, {"kind": "drip", "interval_ms": 200})
    error = stream_error(answer) if streamed else error_body(status, answer)
    assert error["type"] == "overloaded_error" and "total timeout" in error["message"]
    assert wait_until(lambda: survivor.sim.requests(marker)[0]["aborted"], 10)


@STREAMED
def test_a_reset_mid_stream_is_an_error(survivor: Bridge, marker: str, streamed: bool) -> None:
    status, answer = ask(survivor, marker, streamed, {"kind": "reset"})
    error = stream_error(answer) if streamed else error_body(status, answer)
    assert error["type"] == "overloaded_error"


@STREAMED
def test_an_html_page_with_status_200_is_an_error(survivor: Bridge, marker: str, streamed: bool) -> None:
    status, answer = ask(survivor, marker, streamed, {"kind": "html_200"})
    error = stream_error(answer) if streamed else error_body(status, answer)
    assert error["type"] in {"api_error", "overloaded_error"}


def test_a_client_that_reads_nothing_is_cut_and_its_backend_request_cancelled(paused_survivor: Bridge, marker: str) -> None:
    """150k tokens (about 37 MB of upstream SSE) to a client that never reads: once the stream has been
    paused for paused_stream_seconds the bridge closes the client's connection and cancels the backend
    request, freeing its slot."""
    text = " ".join(f"t{i}" for i in range(150_000))
    body = {
        "model": ALIAS, "max_tokens": 200_000, "stream": True,
        "messages": [{"role": "user", "content": f"{marker} " + directive(text=text, prompt_tokens=50)}],
    }
    transport = httpx.HTTPTransport(socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)])
    received = bytearray()
    bridge = paused_survivor
    with httpx.Client(transport=transport, timeout=CLIENT_TIMEOUT) as client:
        with client.stream("POST", bridge.url + "/v1/messages", json=body, headers=ANTHROPIC_HEADERS) as response:
            assert response.status_code == 200
            cut = wait_until(lambda: "cut: the client read nothing" in bridge.process.stderr_tail(), PAUSED_STREAM_SECONDS + 30, interval=0.2)
            assert cut, "the stream was not cut while the client read nothing"
            with pytest.raises(httpx.RemoteProtocolError):
                for chunk in response.iter_raw(chunk_size=65536):
                    received += chunk
    assert b"message_stop" not in received
    assert bridge.sim.requests(marker)[0]["completed"] is False
