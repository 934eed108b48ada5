# SPDX-License-Identifier: Apache-2.0
"""Streams under stress: upstream failures mid-stream, clients that hang up or read slowly, and
many streams at once."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anthropic
import httpx
import pytest

from support import ALIAS, ANTHROPIC_HEADERS, CLIENT_TIMEOUT, directive, sse_events, wait_until


def stream_body(text: str, max_tokens: int = 256) -> dict[str, Any]:
    return {"model": ALIAS, "max_tokens": max_tokens, "stream": True, "messages": [{"role": "user", "content": text}]}


def test_midstream_backend_error_makes_the_sdk_stream_raise_overloaded(bridge, marker):
    client = bridge.anthropic()
    received: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as caught:
        with client.messages.stream(
            model=ALIAS,
            max_tokens=64,
            messages=[{"role": "user", "content": f"{marker} " + directive(text="partial answer then", midstream_error="CUDA out of memory")}],
        ) as stream:
            for text in stream.text_stream:
                received.append(text)
    assert "".join(received) == "partial answer then"
    body = caught.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "overloaded_error"
    assert "CUDA out of memory" in body["error"]["message"]


TRUNCATIONS = pytest.mark.parametrize(
    "fields",
    [{"no_finish": True}, {"drop_after_chunks": 3}],
    ids=["no_finish_reason", "connection_dropped"],
)


@TRUNCATIONS
def test_truncated_upstream_ends_the_stream_with_an_error_event_never_message_stop(bridge, marker, fields):
    text = f"{marker} " + directive(text="one two three four five six seven", **fields)
    with bridge.http.stream("POST", "/v1/messages", json=stream_body(text), headers=ANTHROPIC_HEADERS) as response:
        assert response.status_code == 200
        events = list(sse_events(response.iter_lines()))
    names = [name for name, _ in events]
    assert names[0] == "message_start"
    assert names[-1] == "error", names
    assert "message_stop" not in names and "message_delta" not in names
    assert events[-1][1]["error"]["type"] == "overloaded_error"


@TRUNCATIONS
def test_truncated_upstream_makes_the_sdk_stream_raise(bridge, marker, fields):
    with pytest.raises(anthropic.APIStatusError) as caught:
        with bridge.anthropic().messages.stream(
            model=ALIAS,
            max_tokens=64,
            messages=[{"role": "user", "content": f"{marker} " + directive(text="one two three four five", **fields)}],
        ) as stream:
            stream.until_done()
    assert caught.value.body["error"]["type"] == "overloaded_error"


def slow_prompt(marker: str) -> str:
    # 400 tokens at 20 tokens/s: about 20 s of generation if nobody hung up.
    return f"{marker} " + directive(text=" ".join(f"w{i}" for i in range(400)), tokens_per_second=20)


def assert_backend_request_aborted(sim, marker: str) -> None:
    def aborted() -> list[dict[str, Any]]:
        return [r for r in sim.requests(marker) if r["aborted"]]

    found = wait_until(aborted, timeout=5.0)
    assert len(found) == 1, sim.requests(marker)
    assert found[0]["completed"] is False


def test_client_disconnect_mid_stream_aborts_the_backend_request(bridge, marker):
    with httpx.Client(timeout=CLIENT_TIMEOUT) as client:
        with client.stream(
            "POST", bridge.url + "/v1/messages", json=stream_body(slow_prompt(marker), 1000), headers=ANTHROPIC_HEADERS
        ) as response:
            assert response.status_code == 200
            deltas = 0
            for name, _ in sse_events(response.iter_lines()):
                if name == "content_block_delta":
                    deltas += 1
                    if deltas == 2:
                        break
    # Leaving the blocks closed the connection mid-stream; the bridge must cancel its upstream request.
    assert_backend_request_aborted(bridge.sim, marker)


def test_client_disconnect_before_the_first_token_aborts_the_backend_request(bridge, marker):
    # Prompt processing (time to first token) of 20 s: the client hangs up while vLLM is still busy.
    prompt = f"{marker} " + directive(text="too late", ttft_ms=20000)
    with httpx.Client(timeout=httpx.Timeout(CLIENT_TIMEOUT, read=0.5)) as client:
        with pytest.raises(httpx.ReadTimeout):
            with client.stream("POST", bridge.url + "/v1/messages", json=stream_body(prompt), headers=ANTHROPIC_HEADERS) as response:
                response.read()
    assert_backend_request_aborted(bridge.sim, marker)


def test_client_giving_up_on_a_whole_answer_aborts_the_backend_request(bridge, marker):
    with pytest.raises(anthropic.APITimeoutError):
        bridge.anthropic(timeout=0.5).messages.create(
            model=ALIAS, max_tokens=1000, messages=[{"role": "user", "content": slow_prompt(marker)}]
        )
    assert_backend_request_aborted(bridge.sim, marker)


def test_client_disconnect_mid_passthrough_stream_aborts_the_backend_request(bridge, marker):
    stream = bridge.openai().chat.completions.create(
        model=ALIAS, max_tokens=1000, stream=True, messages=[{"role": "user", "content": slow_prompt(marker)}]
    )
    pieces = 0
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            pieces += 1
            if pieces == 2:
                break
    stream.close()
    assert_backend_request_aborted(bridge.sim, marker)


def test_slow_reader_gets_the_whole_stream_intact(bridge, marker):
    # About 3 MB of answer produced at once (vllm-sim makes a run of spaces one token), read after a
    # pause, in small reads with a small receive buffer: the bridge has to hold the backend back
    # (backpressure) without losing, duplicating or reordering a byte. (SO_RCVBUF stays >= 64 KiB:
    # below two loopback MSS the kernel only reopens the window on persist-timer probes.)
    # Multi-byte characters make reads and upstream chunks split UTF-8 sequences somewhere.
    words = [f"w{i:05d}é漢🙂" + " " * (1000 + i % 7) for i in range(3000)]
    expected = "".join(words).rstrip()
    prompt = f"{marker} " + directive(text=expected, prompt_tokens=50)
    transport = httpx.HTTPTransport(socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)])
    received = bytearray()
    with httpx.Client(transport=transport, timeout=CLIENT_TIMEOUT) as client:
        with client.stream("POST", bridge.url + "/v1/messages", json=stream_body(prompt, 10000), headers=ANTHROPIC_HEADERS) as response:
            assert response.status_code == 200
            time.sleep(1.5)  # let the backend run far ahead
            for chunk in response.iter_raw(chunk_size=16384):
                received += chunk
                time.sleep(0.005)
    events = list(sse_events(received.decode("utf-8").splitlines()))
    names = [name for name, _ in events]
    assert names[-1] == "message_stop", names[-5:]
    text = "".join(data["delta"]["text"] for name, data in events if name == "content_block_delta")
    assert len(text) == len(expected)
    assert text == expected
    [delta] = [data for name, data in events if name == "message_delta"]
    assert delta["delta"]["stop_reason"] == "end_turn"
    assert delta["usage"]["output_tokens"] == 3 * len(words)  # word, emoji, space run; end of sequence
    [record] = bridge.sim.requests(marker)
    assert record["completed"] is True and record["aborted"] is False


def test_a_client_that_stops_reading_pauses_the_backend(bridge_to_large_context, marker):
    """Backpressure reaches vLLM: 150k tokens make about 37 MB of upstream SSE, more than the
    loopback socket buffers between client, bridge and backend hold while nobody reads, so the
    backend cannot finish sending until the client reads (checked by order: while the client
    sleeps, the backend's response is incomplete). Then everything arrives intact."""
    bridge = bridge_to_large_context
    expected = " ".join(f"t{i}" for i in range(150_000))
    prompt = f"{marker} " + directive(text=expected, prompt_tokens=50)
    transport = httpx.HTTPTransport(socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)])
    received = bytearray()
    with httpx.Client(transport=transport, timeout=CLIENT_TIMEOUT) as client:
        with client.stream("POST", bridge.url + "/v1/messages", json=stream_body(prompt, 200_000), headers=ANTHROPIC_HEADERS) as response:
            assert response.status_code == 200
            time.sleep(2)  # without backpressure the backend would be done long before this
            [pending] = bridge.sim.requests(marker)
            assert pending["completed"] is False, "the backend finished while the client read nothing: nothing held it back"
            for chunk in response.iter_raw(chunk_size=65536):
                received += chunk
    events = list(sse_events(received.decode("utf-8").splitlines()))
    assert [name for name, _ in events][-1] == "message_stop"
    text = "".join(data["delta"]["text"] for name, data in events if name == "content_block_delta")
    assert text == expected
    [record] = bridge.sim.requests(marker)
    assert record["completed"] is True and record["aborted"] is False


def test_twenty_concurrent_streams_all_complete(bridge, marker):
    client = bridge.anthropic()

    def run(index: int) -> tuple[str, str, Any]:
        expected = " ".join(f"s{index}t{j}" for j in range(30))
        with client.messages.stream(
            model=ALIAS,
            max_tokens=128,
            messages=[{"role": "user", "content": f"{marker} #{index} " + directive(text=expected, tokens_per_second=200)}],
        ) as stream:
            joined = "".join(stream.text_stream)
            final = stream.get_final_message()
        return expected, joined, final

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(run, range(20)))
    for expected, joined, final in results:
        assert joined == expected
        assert final.content[0].text == expected
        assert final.stop_reason == "end_turn"
        assert final.usage.output_tokens == 31
    records = bridge.sim.requests(marker)
    assert len(records) == 20
    assert all(r["completed"] and not r["aborted"] for r in records)


def test_stream_headers_arrive_before_the_first_token(bridge, sim, marker):
    """The 200 and its headers go out as soon as vLLM accepts the request: a client waiting through
    prompt processing sees the stream open. Checked by order, not by time: when the headers are in
    hand the backend has not sent its first token yet."""
    body = stream_body(f"{marker} " + directive(text="late answer", ttft_ms=3000))
    with bridge.http.stream("POST", "/v1/messages", json=body, headers=ANTHROPIC_HEADERS) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        pending = sim.requests(marker)
        assert len(pending) == 1 and not pending[0]["completed"], "headers waited for the backend's answer"
        events = list(sse_events(response.iter_lines()))
    assert [name for name, _ in events][-1] == "message_stop"
