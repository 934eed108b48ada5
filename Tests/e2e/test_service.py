# SPDX-License-Identifier: Apache-2.0
"""The service around the proxy: systemd's notify protocol, reload, drain and resume through the real
sparkctl, and /metrics — each against a daemon of its own (they change its state)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import anthropic
import httpx
import pytest

from conftest import Process, Sim, bridge_config
from support import ALIAS, ANTHROPIC_HEADERS, BACKEND_MODEL, CLIENT_TIMEOUT, directive, metric, wait_until


class Service:
    """A spark-bridge process with its own NOTIFY_SOCKET, control socket and config file."""

    def __init__(self, bin_dir: Path, workdir: Path, name: str, sim: Sim, settings: dict[str, Any] | None = None) -> None:
        self.bin_dir = bin_dir
        self.dir = workdir / name
        self.dir.mkdir(exist_ok=True)
        self.config = self.dir / "config.yaml"
        # Unix socket paths are limited to 108 bytes: keep sockets in a short directory.
        self.socket_dir = tempfile.mkdtemp(prefix="sb-", dir="/tmp")
        self.socket = os.path.join(self.socket_dir, "control.sock")
        self.sim = sim
        self.settings = settings or {}
        self.write_config()
        self.notify_path = os.path.join(self.socket_dir, "notify.sock")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.notify.settimeout(0.1)
        self.messages: list[str] = []
        self.process = Process(
            name,
            [str(bin_dir / "spark-bridge"), "--config", str(self.config), "--listen", "127.0.0.1:0", "--control-socket", self.socket],
            workdir,
            env={"NOTIFY_SOCKET": self.notify_path},
        )
        self.url = self.process.url

    def write_config(self, aliases: tuple[str, ...] = (ALIAS,), extra: str = "") -> None:
        self.config.write_text(bridge_config(self.sim.url + "/v1", aliases=aliases, settings=self.settings) + extra)

    def notifications(self, until: Any = None, timeout: float = 10.0) -> list[str]:
        """Reads notifications until `until(messages)` holds (or just what is queued)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.messages.append(self.notify.recv(4096).decode())
            except socket.timeout:
                if until is None or until(self.messages) or time.monotonic() > deadline:
                    return self.messages

    def sparkctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin_dir / "sparkctl"), "--socket", self.socket, *args], capture_output=True, text=True, timeout=timeout
        )

    def anthropic(self) -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=self.url, api_key="unused", max_retries=0, timeout=CLIENT_TIMEOUT)

    def stop(self) -> None:
        self.process.stop()
        self.notify.close()
        shutil.rmtree(self.socket_dir, ignore_errors=True)


@pytest.fixture
def service(bin_dir: Path, workdir: Path, sim: Sim, request: pytest.FixtureRequest) -> Iterator[Service]:
    settings = getattr(request, "param", None)
    name = f"service-{request.node.name}".replace("[", "-").replace("]", "")
    service = Service(bin_dir, workdir, re.sub(r"[^A-Za-z0-9_.-]", "_", name), sim, settings)
    yield service
    service.stop()


def first(messages: list[str], prefix: str) -> int:
    return next(i for i, m in enumerate(messages) if m.startswith(prefix))


def test_notify_sequence_ready_reload_stopping(service: Service) -> None:
    """READY=1 once serving; a reload is RELOADING=1 (with MONOTONIC_USEC) then READY=1; a refused reload
    reports its error in STATUS= and stays READY; SIGTERM sends STOPPING=1 and exits 0."""
    ready = service.notifications(until=lambda m: any(x.startswith("READY=1") for x in m))
    assert ready[0].startswith("READY=1\nSTATUS=") and "aliases" in ready[0]

    service.write_config(aliases=(ALIAS, "claude-extra"))
    assert service.sparkctl("reload").returncode == 0
    messages = service.notifications(until=lambda m: sum(x.startswith("READY=1") for x in m) >= 2)
    reloading = first(messages, "RELOADING=1")
    assert re.match(r"RELOADING=1\nMONOTONIC_USEC=\d+$", messages[reloading])
    assert any(m.startswith("READY=1") for m in messages[reloading + 1 :])

    service.write_config(extra="  timeouts: [broken\n")
    refused = service.sparkctl("reload")
    assert refused.returncode == 1
    assert re.search(r"config\.yaml:\d+:\d+: ", refused.stdout + refused.stderr)
    messages = service.notifications(until=lambda m: any("reload rejected" in x for x in m) and m[-1] == "READY=1")
    assert any(m.startswith("STATUS=reload rejected:") and "config.yaml:" in m for m in messages)
    assert messages[-1] == "READY=1"

    service.process.popen.send_signal(15)
    assert service.process.popen.wait(timeout=20) == 0
    assert any(m.startswith("STOPPING=1") for m in service.notifications())


def test_sighup_reload_applies_and_a_bad_edit_keeps_the_running_config(service: Service) -> None:
    service.write_config(aliases=(ALIAS, "claude-added"))
    service.process.popen.send_signal(1)
    wait_until(lambda: any(a["name"] == "claude-added" for a in json.loads(service.sparkctl("--json", "aliases").stdout)["aliases"]), 10)
    service.write_config(aliases=(ALIAS,), extra="  timeouts: [broken\n")
    service.process.popen.send_signal(1)
    wait_until(lambda: "reload rejected" in service.process.stderr_tail(), 10)
    aliases = json.loads(service.sparkctl("--json", "aliases").stdout)["aliases"]
    assert {a["name"] for a in aliases} == {ALIAS, "claude-added"}
    assert service.anthropic().messages.create(model="claude-added", max_tokens=16, messages=[{"role": "user", "content": "hi"}]).content


def test_sparkctl_status_health_aliases_against_the_daemon(service: Service) -> None:
    status = json.loads(service.sparkctl("--json", "status").stdout)
    assert status["listeners"] == [service.url] and status["draining"] is False
    assert status["config_path"] == str(service.config)
    health = json.loads(service.sparkctl("--json", "health").stdout)
    [backend] = health["backends"]
    assert backend["url"] == service.sim.url + "/v1"
    table = service.sparkctl("aliases")
    assert table.returncode == 0 and ALIAS in table.stdout


BACKEND_HEALTH_KEYS = {
    "name", "url", "state", "drained", "in_flight", "last_check", "latency_ms", "last_error", "models", "warm",
    "last_warmup_latency_ms", "load",
}


def test_health_endpoint_and_sparkctl_health_json_are_one_document(service: Service) -> None:
    """`GET /health` and `sparkctl --json health` serve the same document, field for field and in the same
    units, before and after the control plane drains the backend (health checks are an hour apart in these
    configurations, so nothing changes between the two reads)."""
    def both() -> tuple[dict[str, Any], dict[str, Any]]:
        served = httpx.get(service.url + "/health", timeout=CLIENT_TIMEOUT)
        assert served.status_code == 200 and served.headers["content-type"] == "application/json"
        printed = service.sparkctl("--json", "health")
        assert printed.returncode == 0, printed.stderr
        return served.json(), json.loads(printed.stdout)

    assert wait_until(lambda: both()[0]["backends"][0]["state"] == "up", 10)
    served, printed = both()
    assert printed == served
    assert set(served) == {"status", "ready", "aliases", "backends"}
    assert served["status"] == "ok" and served["ready"] is True and served["aliases"] == 1
    [backend] = served["backends"]
    assert set(backend) == BACKEND_HEALTH_KEYS
    assert backend["url"] == service.sim.url + "/v1" and backend["drained"] is False and backend["in_flight"] == 0
    assert isinstance(backend["latency_ms"], (int, float)) and backend["latency_ms"] >= 0
    assert backend["last_error"] is None and backend["last_warmup_latency_ms"] is None and backend["warm"] is False
    assert [model["id"] for model in backend["models"]] == [BACKEND_MODEL]
    # The idle simulator's own load, from its /metrics at the same round.
    assert backend["load"]["running"] == 0 and backend["load"]["waiting"] == 0 and backend["load"]["kv_cache_usage"] == 0

    assert service.sparkctl("drain", "--backend", backend["name"]).returncode == 0
    served, printed = both()
    assert printed == served and served["backends"][0]["drained"] is True
    assert service.sparkctl("resume", "--backend", backend["name"]).returncode == 0
    served, printed = both()
    assert printed == served and served["backends"][0]["drained"] is False


def slow_stream(service: Service, marker: str, results: list[Any]) -> None:
    text = " ".join(f"w{i}" for i in range(40))
    try:
        with service.anthropic().messages.stream(
            model=ALIAS, max_tokens=256, messages=[{"role": "user", "content": f"{marker} " + directive(text=text, tokens_per_second=40)}]
        ) as stream:
            results.append(stream.get_final_message().stop_reason)
    except Exception as error:  # noqa: BLE001 — the test inspects what happened
        results.append(error)


def test_drain_lets_live_sdk_streams_finish_and_refuses_new_requests_until_resume(service: Service, marker: str) -> None:
    results: list[Any] = []
    threads = [threading.Thread(target=slow_stream, args=(service, f"{marker}-{i}", results)) for i in range(3)]
    for thread in threads:
        thread.start()
    wait_until(lambda: json.loads(service.sparkctl("--json", "status").stdout)["streams_in_flight"] == 3, 10)
    drained = service.sparkctl("--json", "drain", "--timeout", "20")
    assert drained.returncode == 0, drained.stderr
    assert json.loads(drained.stdout) == {"cut": 0, "draining": True, "finished": 3}
    for thread in threads:
        thread.join(10)
    assert results == ["end_turn"] * 3

    refused = httpx.post(service.url + "/v1/messages", headers=ANTHROPIC_HEADERS, timeout=CLIENT_TIMEOUT,
                         json={"model": ALIAS, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]})
    assert refused.status_code == 529 and refused.headers["x-should-retry"] == "true"
    assert refused.json()["error"]["type"] == "overloaded_error"

    assert service.sparkctl("resume").returncode == 0
    assert service.anthropic().messages.create(model=ALIAS, max_tokens=8, messages=[{"role": "user", "content": "hi"}]).content


def test_drain_timeout_cuts_streams_with_an_error_event(service: Service, marker: str) -> None:
    results: list[Any] = []
    thread = threading.Thread(target=slow_stream, args=(service, marker, results))
    thread.start()
    wait_until(lambda: json.loads(service.sparkctl("--json", "status").stdout)["streams_in_flight"] == 1, 10)
    drained = json.loads(service.sparkctl("--json", "drain", "--timeout", "0.2").stdout)
    assert drained["cut"] == 1
    thread.join(10)
    [error] = results
    assert isinstance(error, anthropic.APIStatusError) and error.body["error"]["type"] == "overloaded_error"


def test_sparkctl_reports_a_daemon_that_is_not_running(bin_dir: Path, tmp_path: Path) -> None:
    result = subprocess.run([str(bin_dir / "sparkctl"), "--socket", str(tmp_path / "none.sock"), "status"], capture_output=True, text=True)
    assert result.returncode == 3


def test_metrics_count_the_requests_made(service: Service) -> None:
    client = service.anthropic()
    for _ in range(3):
        client.messages.create(model=ALIAS, max_tokens=16, messages=[{"role": "user", "content": directive(text="one two three")}])
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(model="gpt-nothing", max_tokens=16, messages=[{"role": "user", "content": "hi"}])
    text = httpx.get(service.url + "/metrics", timeout=CLIENT_TIMEOUT).text
    assert metric(text, "spark_bridge_requests_total", path="/v1/messages", alias=ALIAS, status="200") == 3
    assert metric(text, "spark_bridge_requests_total", path="/v1/messages", alias="-", status="404") == 1
    assert metric(text, "spark_bridge_output_tokens_total", alias=ALIAS) == 3 * 4  # three words + end of sequence
    assert metric(text, "spark_bridge_request_duration_seconds_count", alias=ALIAS) == 3
    assert metric(text, "spark_bridge_time_to_first_token_seconds_count", alias=ALIAS) == 3
    assert metric(text, "spark_bridge_backend_up", backend=service.sim.url.removeprefix("http://")) == 1
    assert metric(text, "spark_bridge_requests_in_flight") == 0


def test_socket_activation_serves_on_the_passed_socket(bin_dir: Path, workdir: Path, sim: Sim) -> None:
    """With a listening socket passed the way systemd passes it (LISTEN_FDS, FileDescriptorName=http),
    the bridge serves on it instead of binding its configured address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = workdir / "socket-activation.yaml"
    config.write_text(bridge_config(sim.url + "/v1", settings={"listen": "127.0.0.1:1"}))
    socket_dir = tempfile.mkdtemp(prefix="sb-", dir="/tmp")
    stderr_path = workdir / "socket-activation.stderr"
    with open(stderr_path, "wb") as stderr:
        activator = subprocess.Popen(
            ["systemd-socket-activate", "-l", f"127.0.0.1:{port}", "--fdname=http",
             str(bin_dir / "spark-bridge"), "--config", str(config), "--control-socket", os.path.join(socket_dir, "c.sock")],
            stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until(lambda: _answers(url), 20)
            reply = anthropic.Anthropic(base_url=url, api_key="unused", max_retries=0).messages.create(
                model=ALIAS, max_tokens=16, messages=[{"role": "user", "content": directive(text="activated")}]
            )
            assert reply.content[0].text == "activated"
            assert "serving on 1 socket(s) passed by systemd" in stderr_path.read_text()
        finally:
            activator.terminate()
            activator.wait(timeout=20)
            shutil.rmtree(socket_dir, ignore_errors=True)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_backend_back_up_serves_the_next_request_without_waiting_for_a_check(bin_dir: Path, workdir: Path, marker: str) -> None:
    """Panic mode: the only backend goes away and is marked down by failed requests; once it is back on
    the same port, the next request is tried on it anyway (no 529 "all backends down" until the next
    check, an hour away here) and its success marks the backend up at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [str(bin_dir / "vllm-sim"), "--port", str(port)]
    sim = Sim(Process("vllm-sim-comes-back", argv, workdir))
    service = Service(bin_dir, workdir, "service-panic-mode", sim)
    try:
        client = service.anthropic()
        ask = dict(model=ALIAS, max_tokens=8, messages=[{"role": "user", "content": f"{marker} hi"}])
        assert client.messages.create(**ask).content

        def backend_state() -> str:
            return json.loads(service.sparkctl("--json", "health").stdout)["backends"][0]["state"]

        sim.process.stop()
        for _ in range(2):  # failures_before_down: 2
            with pytest.raises(anthropic.APIStatusError) as caught:
                client.messages.create(**ask)
            assert caught.value.status_code == 529
            assert "connect failed" in caught.value.body["error"]["message"]
        assert backend_state() == "down"

        sim = Sim(Process("vllm-sim-comes-back-again", argv, workdir))
        assert client.messages.create(**ask).content
        assert backend_state() == "up"
        assert len(sim.requests(marker)) == 1
    finally:
        service.stop()
        sim.process.stop()


@pytest.mark.parametrize("service", [{"drain_deadline_seconds": 0.5}], indirect=True)
def test_sigterm_drains_then_cuts_a_stream_past_the_deadline_and_exits_0(service: Service, marker: str) -> None:
    """SIGTERM: STOPPING=1, no new connections, the stream in flight runs until drain_deadline_seconds, then
    ends with an overloaded_error event; the control socket answers through the drain; exit 0."""
    results: list[Any] = []
    thread = threading.Thread(target=slow_stream, args=(service, marker, results))
    thread.start()
    wait_until(lambda: json.loads(service.sparkctl("--json", "status").stdout)["streams_in_flight"] == 1, 10)
    service.process.popen.send_signal(15)
    messages = service.notifications(until=lambda m: any(x.startswith("STOPPING=1") for x in m))
    assert any(re.match(r"STOPPING=1\nSTATUS=stopping: draining 1 requests", m) for m in messages)
    thread.join(10)
    [error] = results
    assert isinstance(error, anthropic.APIStatusError) and error.body["error"]["type"] == "overloaded_error"
    assert service.process.popen.wait(timeout=20) == 0
    assert "drain deadline passed: cut 1 requests" in service.process.stderr_tail()
    assert not os.path.exists(service.socket)


def test_sigterm_lets_a_stream_within_the_deadline_finish(service: Service, marker: str) -> None:
    results: list[Any] = []
    thread = threading.Thread(target=slow_stream, args=(service, marker, results))
    thread.start()
    wait_until(lambda: json.loads(service.sparkctl("--json", "status").stdout)["streams_in_flight"] == 1, 10)
    service.process.popen.send_signal(15)
    thread.join(20)
    assert results == ["end_turn"]
    assert service.process.popen.wait(timeout=20) == 0


def test_sighup_at_the_moment_of_ready_reloads_instead_of_killing(service: Service) -> None:
    service.notifications(until=lambda m: any(x.startswith("READY=1") for x in m))
    service.write_config(aliases=(ALIAS, "claude-early"))
    service.process.popen.send_signal(1)
    wait_until(lambda: any(a["name"] == "claude-early" for a in json.loads(service.sparkctl("--json", "aliases").stdout)["aliases"]), 10)
    assert service.process.popen.poll() is None
