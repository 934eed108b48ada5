# SPDX-License-Identifier: Apache-2.0
"""End-to-end fixtures: real `vllm-sim` and `spark-bridge` processes on ephemeral ports.

Every process is started lazily by the first test that needs it, shared for the session (a test
finds its own requests at the simulator by a unique marker in its prompt, so no test depends on
what another sent), and always terminated at the end. When a test fails, the stderr of every
process it used is attached to the report; a process that dies during a test fails that test.

The binaries come from $SPARK_BRIDGE_BIN_DIR (scripts/run-e2e.sh sets it to
`swift build --show-bin-path`), else from .build/debug.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import anthropic
import httpx
import openai
import pytest

from support import ALIAS, BACKEND_MODEL, CLIENT_TIMEOUT, MASTER_KEY, PATTERN_ALIAS, SMALL_BODY_LIMIT, SMALL_CONTEXT

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 20.0

_LISTENING = re.compile(r"^(?:vllm-sim|spark-bridge) listening on (http://\S+)\s*$")
_started: list["Process"] = []


def _bin_dir() -> Path:
    configured = os.environ.get("SPARK_BRIDGE_BIN_DIR")
    path = Path(configured) if configured else REPO_ROOT / ".build" / "debug"
    for name in ("spark-bridge", "vllm-sim"):
        if not os.access(path / name, os.X_OK):
            pytest.fail(f"{path / name} is missing: run `swift build` or scripts/run-e2e.sh", pytrace=False)
    return path


class Process:
    """A child process that announces `… listening on http://HOST:PORT` on stdout."""

    def __init__(self, name: str, argv: list[str], workdir: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = argv
        self.stderr_path = workdir / f"{name}.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.popen = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr, start_new_session=True,
            env={**os.environ, **(env or {})},
        )
        threading.Thread(target=self._read_stdout, name=f"{name}-stdout", daemon=True).start()
        _started.append(self)
        self.url = self._await_banner()

    def _read_stdout(self) -> None:
        assert self.popen.stdout is not None
        for raw in self.popen.stdout:
            self._lines.put(raw.decode("utf-8", "replace"))
        self._lines.put(None)

    def _await_banner(self) -> str:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        seen: list[str] = []
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            seen.append(line)
            if match := _LISTENING.match(line):
                return match.group(1)
        self.stop()
        raise RuntimeError(
            f"{self.name} did not announce its address within {STARTUP_TIMEOUT:.0f} s "
            f"(exit status {self.popen.poll()}); argv {self.argv}\nstdout:\n{''.join(seen)}\nstderr:\n{self.stderr_tail()}"
        )

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def stderr_tail(self, lines: int = 80) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        try:
            text = self.stderr_path.read_text("utf-8", "replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stops the process on purpose: it no longer counts as a process under test."""
        if self in _started:
            _started.remove(self)
        if self.alive:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)
        if self.popen.stdout:
            self.popen.stdout.close()
        self._stderr.close()


class Sim:
    """A running vllm-sim and its control endpoints."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self.url = process.url
        self.http = httpx.Client(base_url=self.url, timeout=CLIENT_TIMEOUT)

    def requests(self, marker: str | None = None, path: str = "/v1/chat/completions") -> list[dict[str, Any]]:
        """Recorded requests to `path` (query included), oldest first; with `marker`, only those whose
        body contains it."""
        response = self.http.get("/sim/requests")
        response.raise_for_status()
        found = [r for r in response.json() if r["path"] == path]
        if marker is not None:
            found = [r for r in found if marker in json.dumps(r["body"])]
        return found

    def tokenize(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post("/tokenize", json=body)
        response.raise_for_status()
        return response.json()

    def log_sections(self) -> list[tuple[str, str]]:
        return [(f"{self.process.name} stderr", self.process.stderr_tail())]


class Bridge:
    """A running spark-bridge, its config, and client factories."""

    def __init__(self, process: Process, config: str, sim: Sim | None) -> None:
        self.process = process
        self.url = process.url
        self.config = config
        self.sim = sim
        self.http = httpx.Client(base_url=self.url, timeout=CLIENT_TIMEOUT)

    def anthropic(self, api_key: str = "e2e-unused-key", **options: Any) -> anthropic.Anthropic:
        options.setdefault("max_retries", 0)
        options.setdefault("timeout", CLIENT_TIMEOUT)
        return anthropic.Anthropic(base_url=self.url, api_key=api_key, **options)

    def openai(self, api_key: str = "e2e-unused-key", **options: Any) -> openai.OpenAI:
        options.setdefault("max_retries", 0)
        options.setdefault("timeout", CLIENT_TIMEOUT)
        return openai.OpenAI(base_url=self.url + "/v1", api_key=api_key, **options)

    def log_sections(self) -> list[tuple[str, str]]:
        sections = [(f"{self.process.name} stderr", self.process.stderr_tail())]
        if self.sim is not None:
            sections += self.sim.log_sections()
        return sections


def bridge_config(
    api_base: str,
    *,
    aliases: tuple[str, ...] = (ALIAS, PATTERN_ALIAS),
    master_key: str | None = None,
    settings: dict[str, Any] | None = None,
) -> str:
    """A LiteLLM-style config; strings are written as JSON strings (valid YAML double-quoted)."""
    q = json.dumps
    lines = ["model_list:"]
    for alias in aliases:
        lines += [
            f"  - model_name: {q(alias)}",
            "    litellm_params:",
            f"      model: {q('openai/' + BACKEND_MODEL)}",
            f"      api_base: {q(api_base)}",
            "      api_key: none",
        ]
    if master_key is not None:
        lines += ["general_settings:", f"  master_key: {q(master_key)}"]
    lines += [
        "spark_bridge:",
        # Keep the backend's request log to what the tests send.
        "  warmup:",
        "    enabled: false",
        "  health:",
        "    interval_seconds: 3600",
        "    timeout_seconds: 2",
    ]
    for key, value in (settings or {}).items():
        lines.append(f"  {key}: {q(value)}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def bin_dir() -> Path:
    return _bin_dir()


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def start_sim(bin_dir: Path, workdir: Path) -> Iterator[Any]:
    processes: list[Process] = []

    def start(name: str, *args: str) -> Sim:
        process = Process(name, [str(bin_dir / "vllm-sim"), "--port", "0", "--record-limit", "5000", *args], workdir)
        processes.append(process)
        return Sim(process)

    yield start
    for process in processes:
        process.stop()


@pytest.fixture(scope="session")
def start_bridge(bin_dir: Path, workdir: Path) -> Iterator[Any]:
    processes: list[Process] = []

    def start(name: str, config: str, sim: Sim | None) -> Bridge:
        path = workdir / f"{name}.yaml"
        path.write_text(config)
        process = Process(name, [str(bin_dir / "spark-bridge"), "--config", str(path), "--listen", "127.0.0.1:0"], workdir)
        processes.append(process)
        return Bridge(process, config, sim)

    yield start
    for process in processes:
        process.stop()


# Simulators.

@pytest.fixture(scope="session")
def sim(start_sim: Any) -> Sim:
    """The default backend: `reasoning` field, 32768-token context, as fast as possible."""
    return start_sim("vllm-sim")


@pytest.fixture(scope="session")
def sim_reasoning_content(start_sim: Any) -> Sim:
    """A backend that names the reasoning field `reasoning_content` (vLLM before 0.10)."""
    return start_sim("vllm-sim-reasoning-content", "--reasoning-field", "reasoning_content")


@pytest.fixture(scope="session")
def sim_small_context(start_sim: Any) -> Sim:
    """A backend with a 1000-token context window."""
    return start_sim("vllm-sim-small-context", "--max-model-len", str(SMALL_CONTEXT))


@pytest.fixture(scope="session")
def sim_large_context(start_sim: Any) -> Sim:
    """A backend with a 1M-token context: room for answers far larger than socket buffers, next to
    prompts that carry them (a 1 MB body is estimated at up to 370k tokens when max_tokens is fitted)."""
    return start_sim("vllm-sim-large-context", "--max-model-len", "1000000")


# Bridges.

@pytest.fixture(scope="session")
def bridge(start_bridge: Any, sim: Sim) -> Bridge:
    """No key, aliases `claude-test` and `claude-sonnet-*`, no default_model."""
    return start_bridge("spark-bridge", bridge_config(sim.url + "/v1"), sim)


@pytest.fixture(scope="session")
def bridge_with_master_key(start_bridge: Any, sim: Sim) -> Bridge:
    return start_bridge("spark-bridge-master-key", bridge_config(sim.url + "/v1", master_key=MASTER_KEY), sim)


@pytest.fixture(scope="session")
def bridge_with_default_model(start_bridge: Any, sim: Sim) -> Bridge:
    config = bridge_config(sim.url + "/v1", settings={"default_model": ALIAS})
    return start_bridge("spark-bridge-default-model", config, sim)


@pytest.fixture(scope="session")
def bridge_with_small_body_limit(start_bridge: Any, sim: Sim) -> Bridge:
    config = bridge_config(sim.url + "/v1", settings={"max_body_bytes": SMALL_BODY_LIMIT})
    return start_bridge("spark-bridge-small-body", config, sim)


@pytest.fixture(scope="session")
def bridge_to_reasoning_content(start_bridge: Any, sim_reasoning_content: Sim) -> Bridge:
    config = bridge_config(sim_reasoning_content.url + "/v1")
    return start_bridge("spark-bridge-reasoning-content", config, sim_reasoning_content)


@pytest.fixture(scope="session")
def bridge_to_small_context(start_bridge: Any, sim_small_context: Sim) -> Bridge:
    config = bridge_config(sim_small_context.url + "/v1", settings={"retry_on_context_overflow": True})
    return start_bridge("spark-bridge-small-context", config, sim_small_context)


@pytest.fixture(scope="session")
def bridge_to_large_context(start_bridge: Any, sim_large_context: Sim) -> Bridge:
    return start_bridge("spark-bridge-large-context", bridge_config(sim_large_context.url + "/v1"), sim_large_context)


@pytest.fixture(scope="session")
def bridge_to_dead_backend(start_bridge: Any) -> Bridge:
    """A bridge whose backend port has nothing listening (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return start_bridge("spark-bridge-dead-backend", bridge_config(f"http://127.0.0.1:{port}/v1"), None)


@pytest.fixture
def marker(request: pytest.FixtureRequest) -> str:
    """A unique tag for the prompt, to find this test's requests at the simulator."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:48]
    return f"e2e-{name}-{uuid.uuid4().hex[:10]}"


# Health of the processes, and their logs on failure.

@pytest.fixture(autouse=True)
def _processes_stay_alive() -> Iterator[None]:
    yield
    dead = [p for p in _started if not p.alive]
    if dead:
        report = "\n".join(f"{p.name} exited with status {p.popen.returncode}:\n{p.stderr_tail()}" for p in dead)
        _started[:] = [p for p in _started if p.alive]
        pytest.fail(f"a process under test died during this test\n{report}", pytrace=False)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed:
        seen: set[str] = set()
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, (Bridge, Sim)):
                for title, text in value.log_sections():
                    if title not in seen:
                        seen.add(title)
                        report.sections.append((title, text))
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for process in _started:
        if process.alive:
            process.stop()
