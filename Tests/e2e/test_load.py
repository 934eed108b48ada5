# SPDX-License-Identifier: Apache-2.0
"""Load from vLLM itself: each health round reads the backend's `/metrics`; `/health` and
`sparkctl health` show it, and least-busy routing avoids a GPU that other clients keep busy."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from conftest import Process, Sim
from support import ALIAS, ANTHROPIC_HEADERS, BACKEND_MODEL, CLIENT_TIMEOUT, directive, metric, wait_until


class TwoBackendBridge:
    """A spark-bridge with a control socket, one alias over two vllm-sim deployments, checked every second."""

    def __init__(self, bin_dir: Path, workdir: Path, busy: Sim, idle: Sim) -> None:
        self.bin_dir = bin_dir
        self.socket_dir = tempfile.mkdtemp(prefix="sb-load-", dir="/tmp")
        self.socket = str(Path(self.socket_dir) / "control.sock")
        config = workdir / "load-two-backends.yaml"
        lines = ["model_list:"]
        for sim in (busy, idle):
            lines += [
                f"  - model_name: {json.dumps(ALIAS)}",
                "    litellm_params:",
                f"      model: {json.dumps('openai/' + BACKEND_MODEL)}",
                f"      api_base: {json.dumps(sim.url + '/v1')}",
                "      api_key: none",
            ]
        # least-busy is what this file pins (the pool default is session affinity, test_routing.py).
        lines += ["spark_bridge:", "  routing:", "    strategy: least-busy", "  warmup:", "    enabled: false", "  health:", "    interval_seconds: 1", "    timeout_seconds: 1"]
        config.write_text("\n".join(lines) + "\n")
        self.process = Process(
            "spark-bridge-load",
            [str(bin_dir / "spark-bridge"), "--config", str(config), "--listen", "127.0.0.1:0", "--control-socket", self.socket],
            workdir,
        )
        self.url = self.process.url

    def sparkctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.bin_dir / "sparkctl"), "--socket", self.socket, *args], capture_output=True, text=True, timeout=60)

    def stop(self) -> None:
        self.process.stop()
        shutil.rmtree(self.socket_dir, ignore_errors=True)


@pytest.fixture
def busy_and_idle(start_sim: Any, bin_dir: Path, workdir: Path) -> Iterator[tuple[TwoBackendBridge, Sim, Sim]]:
    busy = start_sim("vllm-sim-busy", "--max-num-seqs", "1")
    idle = start_sim("vllm-sim-idle")
    bridge = TwoBackendBridge(bin_dir, workdir, busy, idle)
    yield bridge, busy, idle
    bridge.stop()


def occupy(sim: Sim, count: int, hold_ms: int) -> list[threading.Thread]:
    """`count` requests sent straight to `sim` (another client of the same GPU), each holding a slot for
    `hold_ms`: with `--max-num-seqs 1`, one runs and the rest wait."""

    def send() -> None:
        body = {"model": BACKEND_MODEL, "max_tokens": 4, "messages": [{"role": "user", "content": directive(ttft_ms=hold_ms)}]}
        try:
            httpx.post(sim.url + "/v1/chat/completions", json=body, timeout=hold_ms / 1000 * (count + 1))
        except httpx.HTTPError:
            pass

    threads = [threading.Thread(target=send, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads


def backend_load(report: dict[str, Any], sim: Sim) -> dict[str, Any] | None:
    backend = next(b for b in report["backends"] if b["url"] == sim.url + "/v1")
    return backend["load"]


def test_health_shows_vllm_load_and_least_busy_avoids_the_busy_gpu(busy_and_idle: tuple[TwoBackendBridge, Sim, Sim], marker: str) -> None:
    bridge, busy, idle = busy_and_idle
    occupy(busy, 3, hold_ms=20_000)

    def health_json() -> dict[str, Any] | None:
        result = bridge.sparkctl("health", "--json")
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        load = backend_load(report, busy)
        return report if load and load["waiting"] == 2 and load["running"] == 1 else None

    report = wait_until(health_json, timeout=20, interval=0.2)
    assert report, bridge.sparkctl("health", "--json").stdout
    busy_load = backend_load(report, busy)
    assert set(busy_load) == {"running", "waiting", "kv_cache_usage", "prefix_cache_queries", "prefix_cache_hits", "prefix_cache_hit_rate", "read_at"}
    assert backend_load(report, idle)["waiting"] == 0

    # /health serves the same document.
    served = httpx.get(bridge.url + "/health", timeout=CLIENT_TIMEOUT).json()
    assert backend_load(served, busy)["waiting"] == 2

    # Our own /metrics exports the same figures per backend (names from the configuration only).
    exposition = httpx.get(bridge.url + "/metrics", timeout=CLIENT_TIMEOUT).text
    assert metric(exposition, "spark_bridge_backend_requests_waiting", backend=busy.url.removeprefix("http://")) == 2
    assert metric(exposition, "spark_bridge_backend_requests_running", backend=busy.url.removeprefix("http://")) == 1
    assert f'spark_bridge_backend_requests_waiting{{backend="{idle.url.removeprefix("http://")}"}} 0' in exposition

    # The table has the load columns, and the busy backend's row shows 1 running, 2 waiting.
    table = bridge.sparkctl("health")
    assert table.returncode == 0, table.stderr
    assert all(heading in table.stdout for heading in ("RUN", "WAIT", "KV%"))

    # Our own in-flight count is 0 on both: without vLLM's figures the two would be taken in turn.
    for number in range(4):
        body = {"model": ALIAS, "max_tokens": 16, "messages": [{"role": "user", "content": f"{marker} turn {number}"}]}
        response = httpx.post(bridge.url + "/v1/messages", json=body, headers=ANTHROPIC_HEADERS, timeout=CLIENT_TIMEOUT)
        assert response.status_code == 200, response.text
    assert len(idle.requests(marker)) == 4
    assert busy.requests(marker) == []
