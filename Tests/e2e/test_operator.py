# SPDX-License-Identifier: Apache-2.0
"""The operator's view: `make run` out of the box, and `sparkctl top` and `sparkctl trace` against a
daemon under load (top in a real terminal, through tmux)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from conftest import REPO_ROOT, Sim
from support import ALIAS, ANTHROPIC_HEADERS, CLIENT_TIMEOUT, directive, sse_events, wait_until
from test_service import Service

# Claude Code's default model names in late 2025: the demo must serve them without configuration.
CLAUDE_CODE_MODELS = ("claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5")


@pytest.fixture
def operated(bin_dir: Path, workdir: Path, sim: Sim, request: pytest.FixtureRequest) -> Iterator[Service]:
    """A daemon of its own with a control socket, for top and trace."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"operated-{request.node.name}")
    service = Service(bin_dir, workdir, name, sim)
    yield service
    service.stop()


def read_lines_until(stream: Any, done: Any, timeout: float) -> list[str]:
    """Lines of `stream`, read on a thread, until `done(lines)` holds, the stream ends or `timeout`."""
    lines: list[str] = []
    finished = threading.Event()

    def read() -> None:
        for line in stream:
            lines.append(line)
            if done(lines):
                break
        finished.set()

    threading.Thread(target=read, daemon=True).start()
    finished.wait(timeout)
    return list(lines)


def stream_text(url: str, model: str, prompt: str) -> list[str]:
    """The event names of a streamed /v1/messages answer."""
    body = {"model": model, "max_tokens": 32, "stream": True, "messages": [{"role": "user", "content": prompt}]}
    with httpx.stream("POST", url + "/v1/messages", json=body, headers=ANTHROPIC_HEADERS, timeout=CLIENT_TIMEOUT) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        return [event for event, _ in sse_events(response.iter_lines())]


# make run

def test_make_run_without_config_runs_the_demo_and_with_config_the_bridge_alone() -> None:
    dry = subprocess.run(["make", "-n", "run"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert "scripts/run-demo.sh" in dry.stdout and "spark-bridge --config" not in dry.stdout
    real = subprocess.run(["make", "-n", "run", "CONFIG=/etc/x.yaml"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert real.returncode == 0, real.stderr
    assert "spark-bridge --config /etc/x.yaml" in real.stdout and "run-demo.sh" not in real.stdout


def test_run_demo_serves_claude_code_models_streamed_with_no_config_and_stops_on_sigint(bin_dir: Path) -> None:
    """What `make run` starts: vllm-sim and the bridge on loopback, the lines to try, a streamed
    answer for Claude Code's default models, and Ctrl-C (SIGINT to the process group) stops both."""
    script = subprocess.Popen(
        [str(REPO_ROOT / "scripts/run-demo.sh"), str(bin_dir)], cwd=REPO_ROOT, env={**os.environ, "PORT": "0"},
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        # As from a terminal: a harness started in the background of a non-interactive shell (nohup …
        # &) ignores SIGINT, a shell cannot trap a signal ignored on entry, and Ctrl-C is what is tested.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    group = script.pid
    try:
        assert script.stdout is not None
        text = "".join(read_lines_until(script.stdout, lambda lines: "Ctrl-C stops both" in lines[-1], 30))
        match = re.search(r"spark-bridge listening on (http://127\.0\.0\.1:\d+), in front of vllm-sim on (http://127\.0\.0\.1:\d+)", text)
        assert match, text
        url = match.group(1)
        assert f"curl -sN {url}/v1/messages" in text
        assert f"ANTHROPIC_BASE_URL={url} ANTHROPIC_API_KEY=demo claude" in text
        socket_path = re.search(r"--socket (\S+) top", text)
        assert socket_path, text

        for model in CLAUDE_CODE_MODELS:
            events = stream_text(url, model, "hi")
            assert events[0] == "message_start" and "content_block_delta" in events and events[-1] == "message_stop", (model, events)

        os.killpg(group, signal.SIGINT)
        assert script.wait(timeout=30) == 0, script.stderr.read() if script.stderr else ""
        rest = script.stdout.read()
        assert "stopped" in rest
        # Both children are gone with it, and the run directory (control socket) is removed.
        with pytest.raises(ProcessLookupError):
            os.killpg(group, 0)
        assert not Path(socket_path.group(1)).exists()
    finally:
        if script.poll() is None:
            os.killpg(group, signal.SIGKILL)
            script.wait(timeout=10)


# sparkctl top

@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (scripts/ensure-deps.sh test)")
def test_top_in_a_terminal_shows_rows_and_numbers_and_q_quits(operated: Service, marker: str) -> None:
    client = operated.anthropic()
    for index in range(3):
        client.messages.create(model=ALIAS, max_tokens=16, messages=[{"role": "user", "content": f"{marker} {index}"}])
    # One slow stream stays in flight while top looks.
    slow = directive(text="word " * 60, tokens_per_second=10)
    streaming = threading.Thread(target=stream_text, args=(operated.url, ALIAS, f"{marker} slow {slow}"), daemon=True)
    streaming.start()

    session = f"sparkctl-top-{uuid.uuid4().hex[:8]}"
    command = f"{operated.bin_dir / 'sparkctl'} --socket {operated.socket} top; echo top-exited-$?; sleep 60"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "200", "-y", "40", command], check=True, timeout=10)
    try:
        def screen() -> str:
            return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True, timeout=10).stdout

        def alias_row() -> list[str] | None:
            for line in screen().splitlines():
                cells = line.split()
                # ALIAS STATE REQS STREAMS WAITING RUNNING TOK/S P50 unit P99 unit ...
                if cells and cells[0] == ALIAS and len(cells) > 8 and cells[2] == "1" and cells[3] == "1" and cells[7] != "-":
                    return cells
            return None

        row = wait_until(alias_row, 20)
        assert row, screen()
        assert row[1] == "up" and row[4] == "-" and row[5] == "-", row
        assert "q quits" in screen() and "BACKEND" in screen()
        assert re.search(r"^127\.0\.0\.1:\d+\s+up\s+1\s+1\s", screen(), re.MULTILINE), screen()

        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True, timeout=10)
        assert wait_until(lambda: "top-exited-0" in screen(), 10), screen()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, timeout=10)
    streaming.join(timeout=30)


# sparkctl trace

class Trace:
    """A running `sparkctl trace --json`, its events read on a thread (or not read at all)."""

    def __init__(self, service: Service, *args: str, read: bool = True) -> None:
        self.popen = subprocess.Popen(
            [str(service.bin_dir / "sparkctl"), "--socket", service.socket, "trace", "--json", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.events: list[dict[str, Any]] = []
        if read:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.events.append(json.loads(line))

    def of(self, request_id: str) -> list[str]:
        return [e["event"] for e in self.events if e.get("request_id") == request_id]

    def stop(self) -> None:
        self.popen.kill()
        self.popen.wait(timeout=10)


def subscribed(service: Service, count: int) -> bool:
    """True once `count` trace readers are connected (the daemon logs each at info)."""
    return service.process.stderr_tail(400).count("control: trace") >= count


def test_trace_streams_one_line_per_request_event(operated: Service, marker: str) -> None:
    trace = Trace(operated)
    other = Trace(operated, "--alias", "claude-not-this-one")
    try:
        assert wait_until(lambda: subscribed(operated, 2), 10)
        ok = httpx.post(operated.url + "/v1/messages", headers=ANTHROPIC_HEADERS, timeout=CLIENT_TIMEOUT, json={
            "model": ALIAS, "max_tokens": 16, "stream": True, "messages": [{"role": "user", "content": marker}],
        })
        assert ok.status_code == 200
        ok_id = ok.headers["request-id"]
        missing = httpx.post(operated.url + "/v1/messages", headers=ANTHROPIC_HEADERS, timeout=CLIENT_TIMEOUT, json={
            "model": "gpt-nowhere", "max_tokens": 16, "messages": [{"role": "user", "content": marker}],
        })
        assert missing.status_code == 404
        missing_id = missing.headers["request-id"]

        assert wait_until(lambda: "end" in trace.of(ok_id) and "end" in trace.of(missing_id), 10), trace.events
        assert trace.of(ok_id) == ["start", "upstream", "first_token", "end"]
        start, upstream, first, end = [e for e in trace.events if e.get("request_id") == ok_id]
        assert start["alias"] == ALIAS and start["model"] == ALIAS and start["backend"] == operated.sim.url.removeprefix("http://")
        assert upstream["status"] == 200 and first["ttft_ms"] > 0
        assert end["status"] == 200 and end["output_tokens"] > 0 and end["duration_ms"] >= first["ttft_ms"]
        assert trace.of(missing_id) == ["error", "end"]
        error = next(e for e in trace.events if e.get("request_id") == missing_id and e["event"] == "error")
        assert "gpt-nowhere" in error["message"]
        assert [e for e in trace.events if e["event"] in ("request", "answer")] == []
        # The reader of another alias saw none of it.
        assert other.events == []
    finally:
        trace.stop()
        other.stop()


def test_trace_bodies_are_redacted_and_a_stalled_reader_drops_events_without_slowing_requests(operated: Service, marker: str) -> None:
    # Root may read bodies. Claude Code's billing header never shows (keys: TraceRedactionTests).
    bodies = Trace(operated, "--bodies")
    stalled = Trace(operated, "--bodies", read=False)
    try:
        assert wait_until(lambda: subscribed(operated, 2), 10)
        response = httpx.post(operated.url + "/v1/chat/completions", timeout=CLIENT_TIMEOUT, json={
            "model": ALIAS, "max_tokens": 16,
            "messages": [{"role": "system", "content": "x-anthropic-billing-header: cc_version=2.1.3; cc_entrypoint=cli;"},
                         {"role": "user", "content": marker}],
        })
        assert response.status_code == 200
        request_id = response.headers["request-id"]
        assert wait_until(lambda: "end" in bodies.of(request_id), 10), bodies.events
        sent = next(e for e in bodies.events if e.get("request_id") == request_id and e["event"] == "request")
        answer = next(e for e in bodies.events if e.get("request_id") == request_id and e["event"] == "answer")
        assert marker in sent["body"] and "x-anthropic-billing-header: [redacted]" in sent["body"]
        assert "cc_version" not in sent["body"]
        assert '"choices"' in answer["body"]

        # The stalled reader's pipe, socket and 64-event queue fill; requests go on regardless.
        padding = "lorem ipsum " * 2_500
        client = operated.anthropic()
        for index in range(60):
            reply = client.messages.create(model=ALIAS, max_tokens=4, messages=[{"role": "user", "content": f"{marker} {index} {padding}"}])
            assert reply.content
        assert stalled.popen.poll() is None
        assert stalled.popen.stdout is not None
        lines = read_lines_until(stalled.popen.stdout, lambda lines: '"event":"dropped"' in lines[-1], 20)
        seen = [json.loads(line) for line in lines]
        dropped = [e for e in seen if e["event"] == "dropped"]
        assert dropped and dropped[0]["dropped"] > 0, [e["event"] for e in seen]
    finally:
        bodies.stop()
        stalled.stop()
