# SPDX-License-Identifier: Apache-2.0
"""The real Claude Code CLI through the real bridge to vllm-sim, headless.

`claude -p … --output-format stream-json --verbose`, from the pinned `claude-agent-sdk` wheel (it bundles
the CLI as `claude_agent_sdk/_bundled/claude`; 0.2.189 bundles 2.1.332), with HOME in a temporary
directory, telemetry, error reporting, the updater and non-essential traffic off, and the bridge on
127.0.0.1 as ANTHROPIC_BASE_URL. scripts/run-e2e.sh runs the suite in a network namespace of its own
with only the loopback interface up, and these tests check that it does: a stray packet cannot leave.

The simulator answers from `[[sim:…]]` directives in the prompt (multi-turn: `on_tool_result` steps,
`on_user_text` rules for the compaction request). Every scenario asserts that no backend request asked
for a `max_tokens` that could not fit next to its prompt, that every request cost one backend call
(the bridge's `upstream_calls=`), and that every assistant message Claude Code recorded has
`input_tokens` > 0.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import Bridge, Sim, bridge_config
from support import BACKEND_MODEL, directive

WINDOW = 32768
KEEPALIVE_SECONDS = 0.2
SONNET = "claude-sonnet-4-20250514"  # Claude Code sends max_tokens 32000 for it; 128000 for its default
CLI_TIMEOUT = 180


def claude_binary() -> Path:
    """The CLI of the pinned wheel; a machine without it fails, it does not skip."""
    try:
        import claude_agent_sdk
    except ImportError as error:  # pragma: no cover - the failure path is the point
        pytest.fail(f"claude-agent-sdk is not installed ({error}): scripts/run-e2e.sh installs Tests/e2e/requirements.txt", pytrace=False)
    path = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing or not executable: reinstall claude-agent-sdk", pytrace=False)
    return path


def only_loopback() -> bool:
    """Whether this process sees no network interface but `lo` and no route at all."""
    interfaces = {name for _, name in socket.if_nameindex()}
    routes = Path("/proc/net/route").read_text().splitlines()[1:]
    routes6 = [line.split()[-1] for line in Path("/proc/net/ipv6_route").read_text().splitlines() if line.strip()]
    return interfaces == {"lo"} and not routes and set(routes6) <= {"lo"}


@pytest.fixture(scope="module")
def cc_sim(start_sim: Any) -> Sim:
    return start_sim("vllm-sim-claude-code", "--max-model-len", str(WINDOW))


@pytest.fixture(scope="module")
def cc_bridge(start_bridge: Any, cc_sim: Sim) -> Bridge:
    """`claude-*` (every name Claude Code sends) on a 32k window; pings every 0.2 s of silence."""
    config = bridge_config(cc_sim.url + "/v1", aliases=("claude-*",), settings={"keepalive_seconds": KEEPALIVE_SECONDS})
    bridge = start_bridge("spark-bridge-claude-code", config, cc_sim)
    # The health monitor learns max_model_len from /v1/models at its first check.
    deadline = time.monotonic() + 10
    while f"max_model_len {WINDOW}" not in bridge.process.stderr_tail() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bridge


class Run:
    """One `claude -p` run: its stream-json events, and what the simulator and bridge saw meanwhile."""

    def __init__(self, events: list[dict[str, Any]], requests: list[dict[str, Any]], log: list[str], stderr: str) -> None:
        self.events = events
        self.requests = requests
        self.log = log
        self.stderr = stderr
        self.full_log: list[str] = []

    @property
    def result(self) -> dict[str, Any]:
        results = [e for e in self.events if e.get("type") == "result"]
        assert results, f"no result event; stderr:\n{self.stderr}"
        return results[-1]

    @property
    def assistant_messages(self) -> list[dict[str, Any]]:
        return [e["message"] for e in self.events if e.get("type") == "assistant"]

    def blocks(self, kind: str) -> list[dict[str, Any]]:
        return [b for m in self.assistant_messages for b in m.get("content", []) if b.get("type") == kind]


class ClaudeCode:
    def __init__(self, binary: Path, bridge: Bridge, sim: Sim, home: Path) -> None:
        self.binary = binary
        self.bridge = bridge
        self.sim = sim
        self.home = home

    def run(self, prompt: str, cwd: Path, model: str | None = None, extra_env: dict[str, str] | None = None, bridge: Bridge | None = None, check: bool = True) -> Run:
        bridge = bridge or self.bridge
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.home),
            "ANTHROPIC_BASE_URL": bridge.url,
            "ANTHROPIC_API_KEY": "sk-e2e-claude-code",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "IS_SANDBOX": "1",
        }
        if model:
            env["ANTHROPIC_MODEL"] = model
        env.update(extra_env or {})
        before = len(self.sim.requests())
        log_before = len(bridge.process.stderr_tail(100000).splitlines())
        completed = subprocess.run(
            [str(self.binary), "-p", prompt, "--output-format", "stream-json", "--verbose", "--dangerously-skip-permissions"],
            cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=CLI_TIMEOUT,
        )
        events = [json.loads(line) for line in completed.stdout.splitlines() if line.strip().startswith("{")]
        requests = self.sim.requests()[before:]
        log = bridge.process.stderr_tail(100000).splitlines()[log_before:]
        run = Run(events, requests, [line for line in log if "POST /v1/messages" in line], completed.stderr)
        run.full_log = log
        if check:
            assert completed.returncode == 0, f"claude exited {completed.returncode}\nstdout:\n{completed.stdout[-3000:]}\nstderr:\n{completed.stderr[-3000:]}"
            self.check(run)
        return run

    def check(self, run: Run) -> None:
        """What every scenario must show."""
        assert run.requests, "Claude Code's requests never reached the backend"
        for request in run.requests:
            body = request["body"]
            count = self.sim.tokenize({"model": BACKEND_MODEL, "messages": body["messages"], **({"tools": body["tools"]} if "tools" in body else {})})["count"]
            asked = body.get("max_tokens")
            # Never a max_tokens that cannot fit: vLLM would refuse it after tokenizing the prompt.
            assert asked is None or count + asked <= WINDOW, f"request {request['id']}: {count} prompt + {asked} max_tokens > {WINDOW}"
            assert body["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}
        calls = [int(m.group(1)) for line in run.log if (m := re.search(r"upstream_calls=(\d+)", line))]
        assert calls and calls == [1] * len(run.log), f"backend calls per request: {calls}\n" + "\n".join(run.log)
        assert run.assistant_messages, "no assistant message in the stream-json"
        for message in run.assistant_messages:
            assert message["usage"]["input_tokens"] > 0, f"assistant message {message.get('id')} has usage {message['usage']}"


@pytest.fixture(scope="module")
def claude(cc_bridge: Bridge, cc_sim: Sim, tmp_path_factory: pytest.TempPathFactory) -> ClaudeCode:
    binary = claude_binary()
    assert only_loopback(), "the Claude Code suite runs only where nothing but loopback is reachable: use scripts/run-e2e.sh (it runs the suite in its own network namespace)"
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60, env={"HOME": str(tmp_path_factory.mktemp("cc-version")), "PATH": "/usr/bin:/bin"})
    assert version.stdout.startswith("2.1.332"), f"expected the CLI the wheel pins, got {version.stdout!r}"
    return ClaudeCode(binary, cc_bridge, cc_sim, tmp_path_factory.mktemp("cc-home"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


def test_plain_answer(claude: ClaudeCode, project: Path, marker: str) -> None:
    run = claude.run(f"Say hello. {marker} " + directive(text="Hello from the local model."), project)
    assert run.result["result"] == "Hello from the local model."
    assert run.result["is_error"] is False
    # Claude Code's default model asks for 128000 tokens, more than the window: max_tokens left out.
    assert [r["body"].get("max_tokens") for r in run.requests] == [None]
    assert run.assistant_messages[0]["usage"]["input_tokens"] == claude.sim.tokenize({"model": BACKEND_MODEL, "messages": run.requests[0]["body"]["messages"], "tools": run.requests[0]["body"]["tools"]})["count"]


def test_read_round_trip_brings_the_file_content_back(claude: ClaudeCode, project: Path, marker: str) -> None:
    notes = project / "notes.txt"
    notes.write_text("The secret word is PELICAN-42.\n")
    script = directive(
        tool_calls=[{"name": "Read", "arguments": {"file_path": str(notes)}}],
        on_tool_result=[{"text": "The file says the secret word is PELICAN-42."}],
    )
    run = claude.run(f"Read notes.txt. {marker} {script}", project, model=SONNET)
    assert run.result["result"] == "The file says the secret word is PELICAN-42."
    assert len(run.requests) == 2
    tool_messages = [m for m in run.requests[1]["body"]["messages"] if m["role"] == "tool"]
    assert len(tool_messages) == 1 and "PELICAN-42" in tool_messages[0]["content"]
    # Sonnet class asks for 32000: clamped to what the prompt leaves of the 32k window.
    assert all(0 < r["body"]["max_tokens"] < 32000 for r in run.requests)


def test_bash_and_write_really_run(claude: ClaudeCode, project: Path, marker: str) -> None:
    target = project / "written.txt"
    script = directive(
        tool_calls=[{"name": "Bash", "arguments": {"command": "echo bash-ran > bash-proof.txt", "description": "Write a proof file"}}],
        on_tool_result=[
            {"tool_calls": [{"name": "Write", "arguments": {"file_path": str(target), "content": "written by the Write tool\n"}}]},
            {"text": "Both tools ran."},
        ],
    )
    run = claude.run(f"Run the tools. {marker} {script}", project)
    assert run.result["result"] == "Both tools ran."
    assert (project / "bash-proof.txt").read_text() == "bash-ran\n"
    assert target.read_text() == "written by the Write tool\n"
    assert len(run.requests) == 3


def test_two_parallel_tool_calls_answered_in_one_follow_up(claude: ClaudeCode, project: Path, marker: str) -> None:
    (project / "a.txt").write_text("alpha-1\n")
    (project / "b.txt").write_text("bravo-2\n")
    script = directive(
        tool_calls=[
            {"name": "Read", "arguments": {"file_path": str(project / "a.txt")}},
            {"name": "Read", "arguments": {"file_path": str(project / "b.txt")}},
        ],
        on_tool_result=[{"text": "Read both files."}],
    )
    run = claude.run(f"Read both. {marker} {script}", project, model=SONNET)
    assert run.result["result"] == "Read both files."
    assert len(run.requests) == 2, "the two results must come back in one request"
    tool_messages = [m for m in run.requests[1]["body"]["messages"] if m["role"] == "tool"]
    assert len(tool_messages) == 2
    contents = " ".join(m["content"] for m in tool_messages)
    assert "alpha-1" in contents and "bravo-2" in contents  # in whichever order the reads finished
    callers = [m for m in run.requests[1]["body"]["messages"] if m.get("tool_calls")]
    assert len(callers) == 1 and len(callers[0]["tool_calls"]) == 2


def test_thinking_is_shown_and_replayed(claude: ClaudeCode, project: Path, marker: str) -> None:
    (project / "x.txt").write_text("x\n")
    script = directive(
        reasoning="I should read x.txt first.",
        tool_calls=[{"name": "Read", "arguments": {"file_path": str(project / "x.txt")}}],
        on_tool_result=[{"reasoning": "Now I can answer.", "text": "Thought about it."}],
    )
    run = claude.run(f"Think, then read. {marker} {script}", project, model=SONNET)
    assert run.result["result"] == "Thought about it."
    thinking = [b["thinking"] for b in run.blocks("thinking")]
    assert "I should read x.txt first." in thinking and "Now I can answer." in thinking
    # The first turn's thinking goes back to the backend with the assistant turn.
    assistant = [m for m in run.requests[1]["body"]["messages"] if m["role"] == "assistant"]
    assert assistant and assistant[0].get("reasoning") == "I should read x.txt first."
    assert assistant[0].get("reasoning_content") == "I should read x.txt first."


def test_three_step_tool_loop(claude: ClaudeCode, project: Path, marker: str) -> None:
    steps = [{"tool_calls": [{"name": "Bash", "arguments": {"command": f"echo step{n} >> steps.txt", "description": f"step {n}"}}]} for n in (2, 3)]
    script = directive(
        tool_calls=[{"name": "Bash", "arguments": {"command": "echo step1 >> steps.txt", "description": "step 1"}}],
        on_tool_result=[*steps, {"text": "Three steps done."}],
    )
    run = claude.run(f"Loop. {marker} {script}", project)
    assert run.result["result"] == "Three steps done."
    assert (project / "steps.txt").read_text() == "step1\nstep2\nstep3\n"
    assert len(run.requests) == 4


def test_context_overflow_after_a_tool_turn_is_compacted_and_recovers(claude: ClaudeCode, project: Path, marker: str) -> None:
    # The follow-up after the tool turn is refused as too long for the window (scripted prompt size);
    # Claude Code drops the oldest turns, asks for a summary, and continues from it. The summary
    # request no longer holds the prompt: its script rides in the file that was read.
    summary = "<analysis>Read a file.</analysis>\n<summary>The user asked to read notes.txt. " + directive(text="Recovered after compaction.") + "</summary>"
    notes = project / "notes.txt"
    notes.write_text("The secret word is PELICAN-42.\n" + directive(text="unused", on_user_text=[{"contains": "create a detailed summary", "reply": {"text": summary}}]) + "\n")
    script = directive(
        tool_calls=[{"name": "Read", "arguments": {"file_path": str(notes)}}],
        on_tool_result=[{"prompt_tokens": WINDOW + 7232, "text": "never sent"}],
    )
    run = claude.run(f"Read notes.txt. {marker} {script}", project, model=SONNET)
    assert run.result["result"] == "Recovered after compaction."
    statuses = [r["status"] for r in run.requests]
    assert statuses.count(400) == 1, statuses  # the overflow itself, refused for its prompt
    assert any(e.get("subtype") == "compact_boundary" for e in run.events)
    assert len(run.requests) == 4


def test_slow_prefill_claude_code_gets_the_answer_through_pings(claude: ClaudeCode, project: Path, marker: str) -> None:
    # The first token comes after many keep-alive intervals: the TypeScript SDK inside Claude Code
    # reads the pings before message_start and still gets the answer.
    run = claude.run(f"Slow. {marker} " + directive(text="Worth the wait.", ttft_ms=int(KEEPALIVE_SECONDS * 1000 * 8)), project)
    assert run.result["result"] == "Worth the wait."
    pings = [int(m.group(1)) for line in run.log if (m := re.search(r"pings=(\d+)", line))]
    assert pings and pings[0] >= 3, run.log


def test_sparkctl_env_exports_run_claude_code_as_is(claude: ClaudeCode, start_bridge: Any, cc_sim: Sim, bin_dir: Path, project: Path, marker: str) -> None:
    """`eval "$(sparkctl env)"` from the live daemon, and Claude Code with nothing else set: its own
    default names resolve, it asks for the output the window allows, and no request needs clamping."""
    socket_dir = tempfile.mkdtemp(prefix="sb-cc-", dir="/tmp")
    control = os.path.join(socket_dir, "control.sock")
    config = bridge_config(cc_sim.url + "/v1", aliases=("claude-*",), settings={"control_socket": control})
    bridge = start_bridge("spark-bridge-claude-env", config, cc_sim)
    try:
        deadline = time.monotonic() + 10
        while f"max_model_len {WINDOW}" not in bridge.process.stderr_tail() and time.monotonic() < deadline:
            time.sleep(0.05)
        printed = subprocess.run([str(bin_dir / "sparkctl"), "--socket", control, "env"], capture_output=True, text=True, timeout=30)
        assert printed.returncode == 0, printed.stderr
        shell = subprocess.run(["sh", "-c", 'eval "$1" && env', "sh", printed.stdout], capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
        assert shell.returncode == 0, shell.stderr
        exported = dict(line.split("=", 1) for line in shell.stdout.splitlines() if "=" in line)
        assert exported["ANTHROPIC_BASE_URL"] == bridge.url
        assert exported["ANTHROPIC_MODEL"] == "claude-opus-5-5"
        assert exported["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] == "8192"
        assert exported["CLAUDE_CODE_AUTO_COMPACT_WINDOW"] == "100000"
        assert exported["CLAUDE_AUTOCOMPACT_PCT_OVERRIDE"] == "23"
        wanted = {k: v for k, v in exported.items() if k.startswith(("ANTHROPIC_", "CLAUDE_"))}
        run = claude.run(f"Hello. {marker} " + directive(text="Configured by sparkctl env."), project, extra_env=wanted, bridge=bridge)
        assert run.result["result"] == "Configured by sparkctl env."
        assert [r["body"].get("max_tokens") for r in run.requests] == [8192]
        assert "max_tokens" not in " ".join(run.log), "a request that fits needs no note about max_tokens"
    finally:
        shutil.rmtree(socket_dir, ignore_errors=True)


def test_a_config_without_claude_code_names_warns_at_start_and_per_unknown_name(claude: ClaudeCode, start_bridge: Any, cc_sim: Sim, project: Path, marker: str) -> None:
    """The seed's LiteLLM names only, no default_model: the start-up log says what to add; Claude Code's
    default model gets 404 and one WARNING for its name, however often it is asked for."""
    config = bridge_config(cc_sim.url + "/v1", aliases=("claude-sonnet-4-20250514", "claude-3-5-sonnet-20241022", "claude-3-opus-20240229"))
    bridge = start_bridge("spark-bridge-seed-names", config, cc_sim)
    assert "Claude Code's default model names (claude-opus-5-5, claude-sonnet-5-5, claude-haiku-5-5) resolve to no alias" in bridge.process.stderr_tail()
    run = claude.run(f"Hello. {marker} " + directive(text="never"), project, bridge=bridge, check=False)
    assert run.result["is_error"] is True
    assert len(run.log) >= 2 and all("status=404" in line for line in run.log)
    warnings = [line for line in run.full_log if "WARNING" in line and "claude-opus-5-5" in line]
    assert len(warnings) == 1, run.full_log


def test_sparkctl_env_limits_make_claude_code_compact_before_the_window_is_full(claude: ClaudeCode, project: Path, marker: str) -> None:
    """Claude Code believes an unknown claude-* model has a 200k+ window. With the limits `sparkctl env`
    prints for a 32768-token window (checked in the test above), a first answer whose prompt counted
    22000 tokens starts a compaction before the next request; without them, nothing does."""
    (project / "notes.txt").write_text("notes\n")
    script = directive(
        prompt_tokens=22000,
        tool_calls=[{"name": "Read", "arguments": {"file_path": str(project / "notes.txt")}}],
        on_tool_result=[{"text": "Read it."}],
    )
    limits = {"CLAUDE_CODE_MAX_OUTPUT_TOKENS": "8192", "CLAUDE_CODE_AUTO_COMPACT_WINDOW": "100000", "CLAUDE_AUTOCOMPACT_PCT_OVERRIDE": "23"}

    def compacting(run: Run) -> bool:
        return any(e.get("subtype") == "status" and e.get("status") == "compacting" for e in run.events)

    without = claude.run(f"Read. {marker}-a {script}", project)
    assert without.result["result"] == "Read it." and not compacting(without)
    assert without.assistant_messages[0]["usage"]["input_tokens"] == 22000
    limited = claude.run(f"Read. {marker}-b {script}", project, extra_env=limits)
    assert limited.result["result"] == "Read it."
    assert compacting(limited), "22000 tokens is past the threshold for a 32k window: Claude Code should compact"
