# SPDX-License-Identifier: Apache-2.0
"""Hostile clients against a real spark-bridge: slowloris, idle connections past the limit, keyless
large bodies, a flood of distinct paths and model names, forged log lines, malformed requests and
stalled bodies. Each test holds the daemon to a resource figure read from /proc (open fds, RSS) or
from /metrics (series count), never to a wall-clock time.

The bridges here use small limits (a 1 s header timeout…) so that the attacks are over quickly."""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from conftest import Bridge, Process, bridge_config
from support import ALIAS, ANTHROPIC_HEADERS, CLIENT_TIMEOUT, MASTER_KEY, directive, metric, wait_until

MIB = 1 << 20


# /proc and /metrics figures.


def open_fds(bridge: Bridge) -> int:
    return len(os.listdir(f"/proc/{bridge.process.popen.pid}/fd"))


def status_kib(bridge: Bridge, field: str) -> int:
    """A `VmRSS`/`VmHWM` figure of /proc/PID/status, in KiB."""
    text = open(f"/proc/{bridge.process.popen.pid}/status").read()
    return int(re.search(rf"^{field}:\s+(\d+) kB$", text, re.M).group(1))


def metrics_text(bridge: Bridge) -> str:
    return httpx.get(bridge.url + "/metrics", timeout=CLIENT_TIMEOUT).text


def series(text: str) -> list[str]:
    """The series names with their labels (one per sample line)."""
    return [line.rsplit(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")]


# Raw sockets.


def address(bridge: Bridge) -> tuple[str, int]:
    url = urlparse(bridge.url)
    return url.hostname or "127.0.0.1", url.port or 80


def closed_by_peer(sock: socket.socket) -> bool:
    """True once the bridge closed the connection (EOF or reset); answers already sent are skipped."""
    sock.setblocking(False)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def read_until_closed(sock: socket.socket, timeout: float = CLIENT_TIMEOUT) -> bytes:
    sock.settimeout(timeout)
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def read_head(sock: socket.socket) -> bytes:
    """Bytes up to the end of one response head."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def limits(**values: Any) -> dict[str, Any]:
    return {"limits": values}


# Slowloris and malformed requests.


def test_slowloris_connections_are_closed_at_the_header_timeout_and_fds_stay_bounded(start_bridge, sim):
    max_connections, spare, attackers = 40, 32, 150
    bridge = start_bridge(
        "spark-bridge-slowloris",
        bridge_config(sim.url + "/v1", settings=limits(max_connections=max_connections, header_timeout_seconds=3)),
        sim,
    )
    baseline = open_fds(bridge)
    sockets = [socket.create_connection(address(bridge)) for _ in range(attackers)]
    peak = baseline
    try:
        for sock in sockets:
            try:
                sock.send(b"GET / HTTP/1.1\r\nHost: x\r\nX-Drip: ")
            except OSError:
                pass
        # Connections past max_connections + spare are answered 503 and closed at once; on a loaded
        # machine a burst of them can still be open for a moment (seen: 17 beyond the bound). The bound
        # below is on the connections the bridge holds, so sampling starts once those are gone.
        over_limit = attackers - max_connections - spare
        assert wait_until(lambda: sum(closed_by_peer(s) for s in sockets) >= over_limit, 10), "over-limit connections still open"
        held = sum(not closed_by_peer(s) for s in sockets)
        assert held >= max_connections, f"only {held} connections held while sampling: the bound below would prove nothing"
        # Each connection trickles one more header byte every 0.2 s, past the 3 s header timeout.
        for _ in range(20):
            for sock in sockets:
                try:
                    sock.send(b"a")
                except OSError:
                    pass
            peak = max(peak, open_fds(bridge))
            time.sleep(0.2)
        assert wait_until(lambda: all(closed_by_peer(s) for s in sockets), 20), "a trickling connection is still open"
        assert peak - baseline <= max_connections + spare + 8, (baseline, peak)
        assert wait_until(lambda: open_fds(bridge) <= baseline + 2, 10), (baseline, open_fds(bridge))
    finally:
        for sock in sockets:
            sock.close()
    text = metrics_text(bridge)
    assert metric(text, "spark_bridge_connections_cut_total", reason="header_timeout") >= max_connections
    assert metric(text, "spark_bridge_connections_cut_total", reason="over_limit") >= attackers - max_connections - spare
    assert httpx.get(bridge.url + "/health", timeout=CLIENT_TIMEOUT).status_code == 200
    print(f"slowloris: {attackers} connections, fds baseline {baseline}, peak {peak}, after {open_fds(bridge)}")


@pytest.fixture(scope="module")
def tight_bridge(start_bridge, sim) -> Bridge:
    """Short timeouts for one client at a time: header 1 s, body 1 s, request deadline 2 s."""
    settings = limits(header_timeout_seconds=1, body_timeout_seconds=1, keep_alive_timeout_seconds=2, request_deadline_seconds=2)
    return start_bridge("spark-bridge-tight", bridge_config(sim.url + "/v1", settings=settings), sim)


def test_malformed_requests_get_400_and_their_socket_closed(tight_bridge):
    baseline = open_fds(tight_bridge)
    sockets = []
    for _ in range(100):
        sock = socket.create_connection(address(tight_bridge))
        sock.sendall(b"NOT HTTP AT ALL\x00\r\n\r\n")
        sockets.append(sock)
    try:
        answers = [read_until_closed(sock) for sock in sockets]  # returns once the bridge closes
        assert all(answer.startswith(b"HTTP/1.1 400 ") for answer in answers), answers[0]
        assert wait_until(lambda: open_fds(tight_bridge) <= baseline + 2, 10), (baseline, open_fds(tight_bridge))
    finally:
        for sock in sockets:
            sock.close()


def test_stalled_body_gets_408_and_the_connection_closed(tight_bridge):
    with socket.create_connection(address(tight_bridge)) as sock:
        sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"model\"")
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["type"] == "error" and "limits.body_timeout_seconds" in body["error"]["message"]


def test_request_deadline_cuts_a_stream_with_an_error_event(tight_bridge, marker):
    text = " ".join(f"w{i}" for i in range(200))
    body = {"model": ALIAS, "max_tokens": 512, "stream": True,
            "messages": [{"role": "user", "content": f"{marker} " + directive(text=text, tokens_per_second=20)}]}
    with httpx.stream("POST", tight_bridge.url + "/v1/messages", json=body, headers=ANTHROPIC_HEADERS, timeout=CLIENT_TIMEOUT) as response:
        assert response.status_code == 200
        events = response.read().decode()
    assert "event: error" in events and "limits.request_deadline_seconds" in events
    assert "event: message_stop" not in events


def test_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(tight_bridge):
    with socket.create_connection(address(tight_bridge)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_head(sock).startswith(b"HTTP/1.1 200 ")
        assert wait_until(lambda: closed_by_peer(sock), 20)


# Connection limit.


def test_idle_connections_past_the_limit_get_503_and_a_client_is_served_once_they_time_out(start_bridge, sim):
    max_connections = 20
    settings = limits(max_connections=max_connections, header_timeout_seconds=6, keep_alive_timeout_seconds=6)
    bridge = start_bridge("spark-bridge-connection-limit", bridge_config(sim.url + "/v1", settings=settings), sim)
    baseline = open_fds(bridge)
    idle = [socket.create_connection(address(bridge)) for _ in range(max_connections)]
    try:
        # /metrics is still answered when full, on one of the spare connections: wait until all are in.
        assert wait_until(lambda: metric(metrics_text(bridge), "spark_bridge_client_connections") >= max_connections + 1, 10)
        refused = httpx.post(bridge.url + "/v1/messages", headers=ANTHROPIC_HEADERS, timeout=CLIENT_TIMEOUT,
                             json={"model": ALIAS, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]})
        assert refused.status_code == 503
        assert refused.json()["error"]["type"] == "overloaded_error"
        assert refused.headers["connection"] == "close" and refused.headers["retry-after"] == "1"
        assert httpx.get(bridge.url + "/health", timeout=CLIENT_TIMEOUT).status_code == 200
        assert open_fds(bridge) <= baseline + max_connections + 4
        # Once the idle connections time out, a real client gets through.
        served = wait_until(lambda: _messages_status(bridge) == 200, 20)
        assert served, "never served after the idle connections timed out"
        # The first timed-out connection frees the slot that client used; the others close moments later.
        assert wait_until(lambda: all(closed_by_peer(sock) for sock in idle), 10)
    finally:
        for sock in idle:
            sock.close()
    assert "connection limit reached: 20 client connections open" in bridge.process.stderr_tail(400)


def _messages_status(bridge: Bridge) -> int:
    response = httpx.post(bridge.url + "/v1/messages", headers=ANTHROPIC_HEADERS, timeout=CLIENT_TIMEOUT,
                          json={"model": ALIAS, "max_tokens": 8, "messages": [{"role": "user", "content": directive(text="served")}]})
    return response.status_code


# Auth and size at the head.


@pytest.fixture(scope="module")
def keyed_bridge(start_bridge, sim) -> Bridge:
    return start_bridge("spark-bridge-keyed-hostile", bridge_config(sim.url + "/v1", master_key=MASTER_KEY), sim)


def _keyless_upload(bridge: Bridge, size: int, answers: list[bytes]) -> None:
    chunk = b"x" * MIB
    head = (f"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"anthropic-version: 2023-06-01\r\nContent-Length: {size}\r\n\r\n").encode()
    try:
        with socket.create_connection(address(bridge)) as sock:
            sock.sendall(head)
            for _ in range(size // MIB):
                sock.sendall(chunk)
            sock.sendall(chunk[: size % MIB])
            answers.append(read_until_closed(sock))
    except OSError as error:
        answers.append(repr(error).encode())


def test_keyless_large_bodies_are_refused_at_the_head_without_buffering(keyed_bridge):
    clients, size = 48, 31 * MIB
    rss_before = status_kib(keyed_bridge, "VmRSS")
    answers: list[bytes] = []
    threads = [threading.Thread(target=_keyless_upload, args=(keyed_bridge, size, answers)) for _ in range(clients)]
    for thread in threads:
        thread.start()
    peak = rss_before
    while any(thread.is_alive() for thread in threads):
        peak = max(peak, status_kib(keyed_bridge, "VmRSS"))
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    peak = max(peak, status_kib(keyed_bridge, "VmHWM"))
    assert len(answers) == clients
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
        assert b'"authentication_error"' in answer and b"connection: close" in answer.lower()
    # 48 x 31 MiB were sent: buffering them would take 1.5 GB. Reading and dropping them takes nothing.
    assert peak - rss_before < 64 * 1024, (rss_before, peak)
    print(f"keyless bodies: {clients} x {size // MIB} MiB, RSS {rss_before // 1024} MiB before, peak {peak // 1024} MiB")


def test_declared_body_over_the_limit_is_413_before_it_is_sent(keyed_bridge):
    with socket.create_connection(address(keyed_bridge)) as sock:
        sock.sendall(f"POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: {MASTER_KEY}\r\nContent-Length: {1 << 40}\r\n\r\n".encode())
        head = read_head(sock)
    assert head.startswith(b"HTTP/1.1 413 ") and b"connection: close" in head.lower()


def test_expect_100_continue_only_once_the_head_is_accepted(keyed_bridge):
    body = json.dumps({"model": ALIAS, "max_tokens": 8, "messages": [{"role": "user", "content": directive(text="continued")}]}).encode()
    head = (f"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nanthropic-version: 2023-06-01\r\n"
            f"Expect: 100-continue\r\nContent-Length: {len(body)}\r\n")
    # Without the key: the final 401 at once, no 100, and the connection closed (the body is never sent).
    with socket.create_connection(address(keyed_bridge)) as sock:
        sock.sendall((head + "\r\n").encode())
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 401 ") and b"100 Continue" not in answer
    # With it: 100 Continue, then the body, then the answer.
    with socket.create_connection(address(keyed_bridge)) as sock:
        sock.sendall((head + f"x-api-key: {MASTER_KEY}\r\n\r\n").encode())
        sock.settimeout(CLIENT_TIMEOUT)
        assert read_head(sock) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        final = read_head(sock)
    assert final.startswith(b"HTTP/1.1 200 "), final


# Metric series.


def _pipelined(bridge: Bridge, requests: list[bytes], expected: bytes) -> int:
    """Sends every request on one connection (HTTP/1.1 pipelining) and counts the answers starting `expected`."""
    with socket.create_connection(address(bridge)) as sock:
        sender = threading.Thread(target=sock.sendall, args=(b"".join(requests),))
        sender.start()
        sock.settimeout(CLIENT_TIMEOUT)
        received = b""
        while received.count(b"\r\nrequest-id: ") < len(requests):
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            received += chunk
        sender.join()
    return received.count(expected)


def test_ten_thousand_distinct_paths_and_model_names_add_no_series(start_bridge, sim):
    bridge = start_bridge("spark-bridge-series", bridge_config(sim.url + "/v1"), sim)

    def message(model: str) -> bytes:
        body = json.dumps({"model": model, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}).encode()
        return (f"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body

    # One of each kind first, so that their series exist (and one /metrics, counted in its own series).
    assert _pipelined(bridge, [b"GET /probe-first HTTP/1.1\r\nHost: x\r\n\r\n", message("model-first")], b"HTTP/1.1 404 ") == 2
    metrics_text(bridge)
    before = series(metrics_text(bridge))
    count = 10_000
    assert _pipelined(bridge, [f"GET /probe-{i}?q={i} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for i in range(count)], b"HTTP/1.1 404 ") == count
    assert _pipelined(bridge, [message(f"model-{i}") for i in range(count)], b"HTTP/1.1 404 ") == count
    text = metrics_text(bridge)
    after = series(text)
    assert len(after) == len(before), sorted(set(after) - set(before))[:10]
    assert metric(text, "spark_bridge_requests_total", path="other", alias="-", status="404") == count + 1
    assert metric(text, "spark_bridge_requests_total", path="/v1/messages", alias="-", status="404") == count + 1
    print(f"series: {len(before)} before, {len(after)} after {2 * count} distinct requests; /metrics {len(text)} bytes")


# Logs.


def test_a_model_name_with_a_newline_cannot_forge_a_log_line(bridge):
    forged = "claude-forged\nCRITICAL forged-line status=200\n\u0000INFO     forged-too"
    response = bridge.http.post("/v1/messages", headers=ANTHROPIC_HEADERS,
                                json={"model": forged, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 404
    escaped = r"claude-forged\nCRITICAL forged-line status=200\n\u0000INFO     forged-too"
    assert wait_until(lambda: escaped in bridge.process.stderr_tail(2000), 10), bridge.process.stderr_tail(20)
    # The whole forged text stays on the one line that logs the request.
    lines = bridge.process.stderr_tail(2000).splitlines()
    assert [line for line in lines if "forged" in line and "claude-forged" not in line] == []


# The open-file limit.


def _bridge_under_ulimit(bin_dir, workdir, sim, name: str, ulimit: str) -> Process:
    config = workdir / f"{name}.yaml"
    config.write_text(bridge_config(sim.url + "/v1", settings=limits(max_connections=1024)))
    command = f"ulimit {ulimit} && exec {bin_dir / 'spark-bridge'} --config {config} --listen 127.0.0.1:0 --control-socket {workdir / name}.sock"
    return Process(name, ["sh", "-c", command], workdir)


def _soft_nofile(process: Process) -> int:
    limits_text = open(f"/proc/{process.popen.pid}/limits").read()
    return int(re.search(r"^Max open files\s+(\d+)", limits_text, re.M).group(1))


def test_a_low_soft_file_limit_is_raised_to_fit_max_connections(bin_dir, workdir, sim):
    process = _bridge_under_ulimit(bin_dir, workdir, sim, "spark-bridge-soft-nofile", "-Sn 256")
    try:
        needed = 2 * (1024 + 32) + 64
        hard = int(re.search(r"^Max open files\s+\d+\s+(\d+)", open(f"/proc/{process.popen.pid}/limits").read(), re.M).group(1))
        assert _soft_nofile(process) == min(hard, needed)
        if hard >= needed:
            assert "raise LimitNOFILE" not in process.stderr_tail()
    finally:
        process.stop()


def test_a_hard_file_limit_below_max_connections_is_reported(bin_dir, workdir, sim):
    process = _bridge_under_ulimit(bin_dir, workdir, sim, "spark-bridge-hard-nofile", "-n 256")
    try:
        assert _soft_nofile(process) == 256
        assert wait_until(lambda: "limits.max_connections is 1024 but the open-file limit is 256" in process.stderr_tail(), 5)
    finally:
        process.stop()
