#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Instructions per request and per streamed event, spark-bridge vs vllm-sim, counted by callgrind.

Usage: scripts/callgrind-cost.py BIN_DIR [--requests N] [--streams S] [--tokens K] [--quick]
                                 [--markdown FILE] [--append FILE] [--keep DIR]

Wall-clock CPU figures on a shared 2-core machine move by tens of percent from run to run; the number of
instructions a process executes for the same work does not. So this starts vllm-sim and the release
spark-bridge in front of it (the same `Benchmarks/litellm_config.yaml` as `make bench`), each under
`valgrind --tool=callgrind`, and for each process and each workload:
  1. warms up (connections open, caches filled, lazy globals made),
  2. zeroes its counters (`callgrind_control -z`),
  3. sends the load over one keep-alive connection, one request at a time,
  4. dumps its counters (`callgrind_control -d`) and reads the instructions executed (Ir) since 2.
The bridge is measured with load sent to it (its backend, the simulator, is the same process measured
directly), and the simulator with the same OpenAI body the bridge sent it (read back from
`GET /sim/requests`) sent to it directly: the floor a proxy is compared with. Every instruction of the
process counts, on every thread: event loops, the curl thread, logging, timers.

Workloads: `small` = a one-line question answered at once with 12 tokens, non-streaming; `stream` = the
same question answered with K tokens streamed unpaced. Per event = Ir of the stream load / (S x K).
Loopback only: every socket is 127.0.0.1. The dump files are kept with --keep DIR for
`callgrind_annotate --inclusive=yes DIR/<file>`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "Benchmarks" / "litellm_config.yaml"
BACKEND_MODEL = "Qwen/Qwen3-Coder-30B-A3B-Instruct"
CLIENT_MODEL = "claude-sonnet-4-5"
API_KEY = "sk-callgrind-cost"
VOCABULARY = [
    "the", "build", "finished", "with", "two", "warnings", "in", "module", "BridgeCore", "and", "all",
    "tests", "passed", "after", "retrying", "once", "because", "a", "socket", "was", "busy",
]
WAIT_SECONDS = 120  # callgrind runs a process ~50x slower: every wait below is bounded by this


def log(message: str) -> None:
    print(f"callgrind-cost: {message}", file=sys.stderr, flush=True)


def anthropic_body(words: int, stream: bool) -> bytes:
    answer = " ".join(VOCABULARY[i % len(VOCABULARY)] for i in range(words))
    directive = '[[sim:{"text":"%s","ttft_ms":0,"tokens_per_second":0}]]' % answer
    return json.dumps({
        "model": CLIENT_MODEL, "max_tokens": words * 2 + 16, "stream": stream,
        "messages": [{"role": "user", "content": f"Summarise the build log in one paragraph. {directive}"}],
    }).encode()


class Child:
    """A process under callgrind whose output goes to a log file; `url` is read from its listening line."""

    def __init__(self, name: str, argv: list[str], work: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.out_prefix = work / f"callgrind.{name}"
        self.log_path = work / f"{name}.log"
        self.log = open(self.log_path, "wb")
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={self.out_prefix}.%p", *argv]
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT,
                                        env={**os.environ, **(env or {})}, start_new_session=True)
        self.url = self._await_listening()

    def _await_listening(self) -> str:
        deadline = time.monotonic() + WAIT_SECONDS
        pattern = re.compile(rb"listening on (http://127\.0\.0\.1:\d+)")
        while time.monotonic() < deadline:
            match = pattern.search(self.log_path.read_bytes())
            if match:
                return match.group(1).decode()
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise SystemExit(f"callgrind-cost: {self.name} did not start; see {self.log_path}")

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def control(self, *options: str) -> None:
        run = subprocess.run(["callgrind_control", *options, str(self.process.pid)],
                             capture_output=True, text=True, timeout=WAIT_SECONDS)
        if run.returncode != 0:
            raise SystemExit(f"callgrind-cost: callgrind_control {' '.join(options)} failed: {run.stdout}{run.stderr}")

    def zero(self) -> None:
        self.control("-z")

    def dump(self, label: str) -> int:
        """Dumps the counters since the last zero or dump and returns the instructions executed (Ir)."""
        before = set(self.out_prefix.parent.glob(self.out_prefix.name + ".*"))
        self.control(f"--dump={label}")
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            for path in set(self.out_prefix.parent.glob(self.out_prefix.name + ".*")) - before:
                text = path.read_text(errors="replace")
                match = re.search(r"^totals: (\d+)", text, re.MULTILINE)
                if match:
                    path.rename(path.with_name(f"{self.name}.{label}.callgrind"))
                    return int(match.group(1))
            time.sleep(0.1)
        raise SystemExit(f"callgrind-cost: no dump from {self.name}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def send(connection: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    connection.request("POST", path, body=body, headers={"content-type": "application/json", **headers})
    response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        raise SystemExit(f"callgrind-cost: {path} answered {response.status}: {payload[:300]!r}")
    return payload


def run_load(port: int, path: str, body: bytes, headers: dict[str, str], count: int, check) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT_SECONDS)
    try:
        for _ in range(count):
            check(send(connection, path, body, headers))
    finally:
        connection.close()


def debug_stripped(binary: Path, work: Path) -> Path:
    """A copy of `binary` without DWARF (valgrind 3.19 cannot read Swift 6's DWARF 5 and gives up);
    the symbol table stays, so callgrind still names every function."""
    copy = work / binary.name
    subprocess.run(["objcopy", "--strip-debug", str(binary), str(copy)], check=True)
    return copy


def measure(args: argparse.Namespace, work: Path) -> dict[str, int]:
    bin_dir = Path(args.bin_dir)
    figures: dict[str, int] = {}
    sim = Child("vllm-sim", [str(debug_stripped(bin_dir / "vllm-sim", work)), "--port", "0", "--max-model-len", "262144",
                             "--record-limit", "16", "--model", BACKEND_MODEL], work)
    bridge = None
    try:
        bridge = Child("spark-bridge", [str(debug_stripped(bin_dir / "spark-bridge", work)), "--config", str(CONFIG),
                                        "--listen", "127.0.0.1:0", "--control-socket", str(work / "control.sock")],
                       work, env={"SIM_API_BASE": f"{sim.url}/v1", "LITELLM_MASTER_KEY": API_KEY})
        log(f"vllm-sim at {sim.url}, spark-bridge at {bridge.url} (both under callgrind)")
        anthropic_headers = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
        stream_events = args.streams * args.tokens

        def small_ok(payload: bytes) -> None:
            if b'"end_turn"' not in payload and b'"stop"' not in payload:
                raise SystemExit(f"callgrind-cost: unexpected answer {payload[:300]!r}")

        def stream_ok(payload: bytes) -> None:
            if not (payload.rstrip().endswith(b"data: [DONE]") or b"message_stop" in payload):
                raise SystemExit(f"callgrind-cost: incomplete stream {payload[-300:]!r}")

        for name, stream, words, count, check in (
            ("small", False, 12, args.requests, small_ok),
            ("stream", True, args.tokens, args.streams, stream_ok),
        ):
            body = anthropic_body(words, stream)
            # Through the bridge: warm up, then count the bridge's instructions.
            run_load(bridge.port, "/v1/messages", body, anthropic_headers, args.warmup, check)
            bridge.zero()
            run_load(bridge.port, "/v1/messages", body, anthropic_headers, count, check)
            figures[f"bridge-{name}"] = bridge.dump(name)
            # The OpenAI body the bridge sent for it, sent to the simulator directly.
            recorded = json.loads(send_get(sim.port, "/sim/requests"))
            completions = [r for r in recorded if r["method"] == "POST" and r["path"] == "/v1/chat/completions"]
            if not completions:
                raise SystemExit("callgrind-cost: vllm-sim recorded no completion request from spark-bridge")
            openai_body = json.dumps(completions[-1]["body"], separators=(",", ":")).encode()
            run_load(sim.port, "/v1/chat/completions", openai_body, {}, args.warmup, check)
            sim.zero()
            run_load(sim.port, "/v1/chat/completions", openai_body, {}, count, check)
            figures[f"sim-{name}"] = sim.dump(name)
            log(f"{name}: bridge {figures[f'bridge-{name}']:,} Ir, vllm-sim {figures[f'sim-{name}']:,} Ir for {count} requests")
        figures["requests"] = args.requests
        figures["streams"] = args.streams
        figures["tokens"] = args.tokens
        figures["stream-events"] = stream_events
    finally:
        if bridge:
            bridge.stop()
        sim.stop()
    return figures


def send_get(port: int, path: str) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=WAIT_SECONDS)
    try:
        connection.request("GET", path)
        return connection.getresponse().read()
    finally:
        connection.close()


def render(figures: dict[str, int]) -> str:
    requests, events = figures["requests"], figures["stream-events"]
    rows = []
    for label, unit, key, divisor in (
        ("small non-streaming request (12 tokens)", "request", "small", requests),
        (f"streamed event ({figures['tokens']}-token unpaced streams)", "event", "stream", events),
    ):
        bridge = figures[f"bridge-{key}"] / divisor
        sim = figures[f"sim-{key}"] / divisor
        met = "met" if bridge <= sim else "**not met**"
        rows.append(f"| per {label} | {sim:,.0f} | {bridge:,.0f} | {bridge / sim:.2f}× | {met} |")
    return "\n".join([
        "## 6. Instructions per request and per event (callgrind)",
        "",
        f"Counted by `scripts/callgrind-cost.py`: vllm-sim and spark-bridge each run under `valgrind --tool=callgrind`; "
        f"after a warm-up each process's counters are zeroed, the load is sent over one keep-alive connection, one "
        f"request at a time, and the instructions the process executed (all threads) are read back. "
        f"{requests} small requests; {figures['streams']} streams of {figures['tokens']} tokens (per event = ÷ "
        f"{events:,}). The simulator gets, directly, the OpenAI body spark-bridge sent it. Instruction counts "
        f"barely move between runs on a noisy machine: this is the stable figure of CPU cost "
        f"(measured {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}).",
        "",
        "| instructions | vllm-sim direct | spark-bridge | spark-bridge ÷ vllm-sim | target ≤ 1× |",
        "|---|---:|---:|---:|---|",
        *rows,
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bin_dir", help="release build directory holding spark-bridge and vllm-sim (valgrind 3.19 "
                        "crashes on the debug build, which loads the Swift runtime from the toolchain)")
    parser.add_argument("--requests", type=int, default=400, help="small requests counted (default 400)")
    parser.add_argument("--streams", type=int, default=20, help="streams counted (default 20)")
    parser.add_argument("--tokens", type=int, default=256, help="tokens per stream (default 256)")
    parser.add_argument("--warmup", type=int, default=20, help="requests sent before counting (default 20)")
    parser.add_argument("--quick", action="store_true", help="a few requests: checks the harness, figures not meaningful")
    parser.add_argument("--markdown", help="write the report section to this file")
    parser.add_argument("--append", help="append the report section to this file (e.g. BENCHMARKS.md)")
    parser.add_argument("--keep", help="copy the callgrind dumps and logs into this directory")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.streams, args.tokens, args.warmup = 5, 2, 16, 2
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        raise SystemExit("callgrind-cost: valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="callgrind-cost.") as directory:
        work = Path(directory)
        try:
            figures = measure(args, work)
        finally:
            if args.keep:
                keep = Path(args.keep)
                keep.mkdir(parents=True, exist_ok=True)
                for path in work.iterdir():
                    if path.is_file() and path.name not in ("vllm-sim", "spark-bridge"):
                        shutil.copy(path, keep / path.name)
    section = render(figures)
    print(section)
    if args.markdown:
        Path(args.markdown).write_text(section)
    if args.append:
        with open(args.append, "a") as report:
            report.write("\n" + section)
    print(json.dumps(figures), file=sys.stderr)


if __name__ == "__main__":
    main()
