# SPDX-License-Identifier: Apache-2.0
"""LiteLLM's `num_retries`, `fallbacks` and `context_window_fallbacks` against real processes: a
LiteLLM-style config with `router_settings`, real vllm-sim backends (one that died, one answering
503 or 429 to everything, a small and a long window), the official SDKs as clients. Calls are
counted at each simulator's `/sim/requests`; the hops are read from the bridge's request log."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse

import pytest

from conftest import Bridge, Process, Sim
from support import ANTHROPIC_HEADERS, BACKEND_MODEL, directive, metric, sse_events, wait_until

SMALL_WINDOW = 1000
LONG_WINDOW = 100000


def backend_name(sim: Sim) -> str:
    return urlparse(sim.url).netloc


def fallback_config(sims: dict[str, Sim]) -> str:
    q = json.dumps
    deployments = [
        ("claude-pool", sims["dying"]),
        ("claude-pool", sims["ok"]),
        ("claude-opus-gpu", sims["unavailable"]),
        ("claude-sonnet-4-5", sims["ok"]),
        ("claude-rate-limited", sims["rate_limited"]),
        ("claude-small", sims["small"]),
        ("qwen-long", sims["long"]),
        ("claude-stream", sims["ok"]),
    ]
    lines = ["model_list:"]
    for alias, sim in deployments:
        lines += [
            f"  - model_name: {q(alias)}",
            "    litellm_params:",
            f"      model: {q('hosted_vllm/' + BACKEND_MODEL)}",
            f"      api_base: {q(sim.url + '/v1')}",
        ]
    lines += [
        "router_settings:",
        "  num_retries: 2",
        '  fallbacks: [{"claude-opus-gpu": ["claude-sonnet-4-5"]}, {"claude-rate-limited": ["claude-sonnet-4-5"]}, {"claude-stream": ["claude-sonnet-4-5"]}]',
        '  context_window_fallbacks: [{"claude-small": ["qwen-long"]}]',
        "  allowed_fails: 3",
        "spark_bridge:",
        "  warmup:",
        "    enabled: false",
        "  health:",
        "    interval_seconds: 3600",
        "    timeout_seconds: 2",
        "  routing:",
        "    aliases:",
        "      claude-pool: round-robin",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def sims(start_sim: Any) -> dict[str, Sim]:
    return {
        "dying": start_sim("vllm-sim-fallback-dying"),
        "ok": start_sim("vllm-sim-fallback-ok"),
        "unavailable": start_sim("vllm-sim-fallback-503", "--fail-status", "503"),
        "rate_limited": start_sim("vllm-sim-fallback-429", "--fail-status", "429"),
        "small": start_sim("vllm-sim-fallback-small", "--max-model-len", str(SMALL_WINDOW)),
        "long": start_sim("vllm-sim-fallback-long", "--max-model-len", str(LONG_WINDOW)),
    }


@pytest.fixture(scope="module")
def fallback_bridge(start_bridge: Any, sims: dict[str, Sim]) -> Bridge:
    bridge = start_bridge("spark-bridge-fallbacks", fallback_config(sims), sims["ok"])
    # The health monitor learns each window from /v1/models at its first check.
    deadline = time.monotonic() + 10
    while f"max_model_len {SMALL_WINDOW}" not in bridge.process.stderr_tail(400) and time.monotonic() < deadline:
        time.sleep(0.05)
    # Then one deployment of the pool dies; health still says it is up (the next check is an hour away).
    sims["dying"].process.stop()
    return bridge


def ask(bridge: Bridge, model: str, prompt: str, **options: Any) -> Any:
    message = bridge.anthropic().messages.create(model=model, max_tokens=16, messages=[{"role": "user", "content": prompt}], **options)
    assert message.type == "message" and message.content and message.content[0].text
    return message


def logged(bridge: Bridge, fragment: str) -> bool:
    return bool(wait_until(lambda: fragment in bridge.process.stderr_tail(600), timeout=5))


def test_the_litellm_router_settings_load_and_other_router_keys_warn(fallback_bridge: Bridge) -> None:
    assert logged(fallback_bridge, "router_settings.allowed_fails: not used by spark-bridge; ignored")
    for key in ("num_retries", "fallbacks", "context_window_fallbacks"):
        assert f"router_settings.{key}: not used" not in fallback_bridge.process.stderr_tail(600)


def test_a_dead_deployment_is_retried_on_the_other_and_the_client_sees_one_clean_answer(fallback_bridge: Bridge, sims: dict[str, Sim], marker: str) -> None:
    # Round-robin: one of two requests goes to the dead deployment first.
    for turn in range(2):
        ask(fallback_bridge, "claude-pool", f"{marker} turn {turn}")
    assert len(sims["ok"].requests(marker)) == 2
    dead = backend_name(sims["dying"])
    assert logged(fallback_bridge, f"hops=claude-pool@{dead}:connect>claude-pool@{backend_name(sims['ok'])} ")
    # The failed call is counted against the dead backend, not the one that answered.
    page = fallback_bridge.http.get("/metrics").text
    assert metric(page, "spark_bridge_upstream_errors_total", kind="connect", backend=dead) == 1
    assert metric(page, "spark_bridge_upstream_errors_total", backend=backend_name(sims["ok"])) == 0


def hops_counted(bridge: Bridge, alias: str, kind: str) -> float:
    return metric(bridge.http.get("/metrics").text, "spark_bridge_fallback_hops_total", alias=alias, kind=kind)


def test_an_overloaded_alias_falls_back_after_num_retries_and_the_log_names_the_hops(fallback_bridge: Bridge, sims: dict[str, Sim], marker: str) -> None:
    retries, fallbacks = hops_counted(fallback_bridge, "claude-opus-gpu", "retry"), hops_counted(fallback_bridge, "claude-opus-gpu", "fallback")
    message = ask(fallback_bridge, "claude-opus-gpu", f"{marker} please answer")
    assert message.stop_reason in ("end_turn", "max_tokens")
    # The first call and num_retries (2) more on the 503 backend, then one on the fallback.
    assert len(sims["unavailable"].requests(marker)) == 3
    assert len(sims["ok"].requests(marker)) == 1
    failing = backend_name(sims["unavailable"])
    hop = f"claude-opus-gpu@{failing}:503"
    assert logged(fallback_bridge, f"hops={hop}>{hop}>{hop}>claude-sonnet-4-5@{backend_name(sims['ok'])} ")
    assert hops_counted(fallback_bridge, "claude-opus-gpu", "retry") == retries + 2
    assert hops_counted(fallback_bridge, "claude-opus-gpu", "fallback") == fallbacks + 1


def test_a_rate_limited_stream_falls_back_before_its_head_and_streams_cleanly(fallback_bridge: Bridge, sims: dict[str, Sim], marker: str) -> None:
    body = {
        "model": "claude-rate-limited", "max_tokens": 64, "stream": True,
        "messages": [{"role": "user", "content": f"{marker} " + directive(text="from the fallback")}],
    }
    with fallback_bridge.http.stream("POST", "/v1/messages", json=body, headers=ANTHROPIC_HEADERS) as response:
        assert response.status_code == 200
        events = list(sse_events(response.iter_lines()))
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-1] == "message_stop", names
    text = "".join(data["delta"].get("text", "") for name, data in events if name == "content_block_delta")
    assert text == "from the fallback"
    assert len(sims["rate_limited"].requests(marker)) == 3
    assert len(sims["ok"].requests(marker)) == 1


def test_the_openai_passthrough_retries_and_falls_back_too(fallback_bridge: Bridge, sims: dict[str, Sim], marker: str) -> None:
    completion = fallback_bridge.openai().chat.completions.create(
        model="claude-opus-gpu", max_tokens=16, messages=[{"role": "user", "content": f"{marker} hello"}],
    )
    assert completion.choices[0].message.content
    assert len(sims["unavailable"].requests(marker)) == 3
    forwarded = sims["ok"].requests(marker)
    assert len(forwarded) == 1 and forwarded[0]["body"]["model"] == BACKEND_MODEL


def test_a_prompt_over_the_window_goes_to_the_context_window_fallback_without_a_call_to_the_small_one(fallback_bridge: Bridge, sims: dict[str, Sim], marker: str) -> None:
    # About 9 kB of prompt: some 3,000 tokens by the bridge's estimate, three times the small window.
    prompt = f"{marker} " + "the quick brown fox jumps over the lazy dog " * 200
    ask(fallback_bridge, "claude-small", prompt)
    assert sims["small"].requests(marker) == []
    assert len(sims["long"].requests(marker)) == 1
    assert logged(fallback_bridge, f"hops=claude-small@{backend_name(sims['small'])}:window>qwen-long@{backend_name(sims['long'])} ")


def test_a_context_length_refusal_from_the_backend_moves_the_request_to_the_context_window_fallback(fallback_bridge: Bridge, sims: dict[str, Sim], marker: str) -> None:
    # A short body the backend counts as 1,500 prompt tokens: the estimate lets it through, vLLM refuses it.
    message = ask(fallback_bridge, "claude-small", f"{marker} " + directive(text="from the long window", prompt_tokens=1500))
    assert message.content[0].text == "from the long window"
    assert [r["status"] for r in sims["small"].requests(marker)] == [400]
    assert len(sims["long"].requests(marker)) == 1
    assert logged(fallback_bridge, f"hops=claude-small@{backend_name(sims['small'])}:400>qwen-long@{backend_name(sims['long'])} ")


def test_a_prompt_that_fits_stays_on_its_alias(fallback_bridge: Bridge, sims: dict[str, Sim], marker: str) -> None:
    ask(fallback_bridge, "claude-small", f"{marker} short")
    assert len(sims["small"].requests(marker)) == 1
    assert sims["long"].requests(marker) == []


def test_a_stream_whose_backend_fails_after_the_first_event_is_never_retried(fallback_bridge: Bridge, sims: dict[str, Sim], marker: str) -> None:
    body = {
        "model": "claude-stream", "max_tokens": 64, "stream": True,
        "messages": [{"role": "user", "content": f"{marker} " + directive(text="one two three four five six seven", drop_after_chunks=3)}],
    }
    with fallback_bridge.http.stream("POST", "/v1/messages", json=body, headers=ANTHROPIC_HEADERS) as response:
        assert response.status_code == 200
        events = list(sse_events(response.iter_lines()))
    names = [name for name, _ in events]
    assert names[0] == "message_start" and names[-1] == "error", names
    # Neither a retry on claude-stream nor its fallback (both on the same simulator) was called.
    assert len(sims["ok"].requests(marker)) == 1


def prefill_config(dying: Sim, ok: Sim) -> str:
    """An alias of two deployments, the dying one first (round-robin's first turn), pings every 0.2 s."""
    q = json.dumps
    lines = ["model_list:"]
    for sim in (dying, ok):
        lines += ["  - model_name: claude-prefill", "    litellm_params:", f"      model: {q('hosted_vllm/' + BACKEND_MODEL)}", f"      api_base: {q(sim.url + '/v1')}"]
    lines += [
        "router_settings:", "  num_retries: 2",
        "spark_bridge:", "  keepalive_seconds: 0.2", "  warmup:", "    enabled: false", "  health:", "    interval_seconds: 3600", "    timeout_seconds: 2",
        "  routing:", "    aliases:", "      claude-prefill: round-robin",
    ]
    return "\n".join(lines) + "\n"


def test_a_stream_whose_deployment_dies_during_the_prefill_is_answered_whole_by_the_other(start_sim: Any, start_bridge: Any, sims: dict[str, Sim], marker: str) -> None:
    # A replica that takes a minute to prefill: its 200 (the stream's head) comes at once, then nothing but pings.
    dying = start_sim("vllm-sim-fallback-prefill", "--ttft-ms", "60000")
    bridge = start_bridge("spark-bridge-fallbacks-prefill", prefill_config(dying, sims["ok"]), sims["ok"])
    outcome: dict[str, Any] = {}

    def converse() -> None:
        try:
            with bridge.anthropic().messages.stream(
                model="claude-prefill", max_tokens=64, messages=[{"role": "user", "content": f"{marker} " + directive(text="answered behind the head")}],
            ) as stream:
                outcome["events"] = [event.type for event in stream]
                outcome["message"] = stream.get_final_message()
        except Exception as error:  # the assertion below shows it
            outcome["error"] = error

    client = threading.Thread(target=converse, name="prefill-client")
    client.start()
    assert wait_until(lambda: dying.requests(marker), timeout=10), "the first call goes to the dying replica"
    # The replica dies mid-prefill, once the client holds the head and a few pings (0.2 s apart).
    time.sleep(0.7)
    dying.process.popen.kill()
    dying.process.popen.wait(timeout=5)
    dying.process.stop()
    client.join(timeout=60)
    assert not client.is_alive() and "error" not in outcome, outcome.get("error")
    # One clean message: one message_start (no second head, nothing resent), the other replica's answer.
    assert outcome["events"].count("message_start") == 1 and outcome["events"][-1] == "message_stop", outcome["events"]
    assert [block.text for block in outcome["message"].content] == ["answered behind the head"]
    assert len(sims["ok"].requests(marker)) == 1
    line = wait_until(lambda: [l for l in bridge.process.stderr_tail(200).splitlines() if "hops=" in l], timeout=5)
    assert line and re.search(rf"hops=claude-prefill@{re.escape(backend_name(dying))}:transport>claude-prefill@{re.escape(backend_name(sims['ok']))} ", line[-1]), line
    pings = re.search(r"pings=(\d+)", line[-1])
    assert pings and int(pings.group(1)) >= 1, line[-1]


def test_client_errors_are_relayed_never_retried(fallback_bridge: Bridge, sims: dict[str, Sim], marker: str) -> None:
    response = fallback_bridge.http.post(
        "/v1/messages", headers=ANTHROPIC_HEADERS,
        json={"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": f"{marker} " + directive(error={"status": 422, "message": "no such thing"})}]},
    )
    assert response.status_code >= 400 and response.json()["type"] == "error"
    assert len(sims["ok"].requests(marker)) == 1


class ControlledBridge:
    """A spark-bridge with its own control socket, for sparkctl drain and reload."""

    def __init__(self, bin_dir: Path, workdir: Path, name: str, config: str) -> None:
        self.bin_dir = bin_dir
        self.config = workdir / f"{name}.yaml"
        self.config.write_text(config)
        self.socket_dir = tempfile.mkdtemp(prefix="sb-fb-", dir="/tmp")
        self.socket = os.path.join(self.socket_dir, "control.sock")
        self.process = Process(
            name, [str(bin_dir / "spark-bridge"), "--config", str(self.config), "--listen", "127.0.0.1:0", "--control-socket", self.socket], workdir
        )
        self.bridge = Bridge(self.process, config, None)

    def sparkctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.bin_dir / "sparkctl"), "--socket", self.socket, *args], capture_output=True, text=True, timeout=60)

    def stop(self) -> None:
        self.process.stop()
        shutil.rmtree(self.socket_dir, ignore_errors=True)


def main_and_spare_config(main: Sim, spare: Sim, fallback: str) -> str:
    q = json.dumps
    lines = ["model_list:"]
    for alias, sim in (("claude-main", main), ("claude-spare", spare)):
        lines += [f"  - model_name: {q(alias)}", "    litellm_params:", f"      model: {q('openai/' + BACKEND_MODEL)}", f"      api_base: {q(sim.url + '/v1')}"]
    lines += [
        "litellm_settings:",
        f"  fallbacks: [{{\"claude-main\": [{q(fallback)}]}}]",
        "spark_bridge:", "  warmup:", "    enabled: false", "  health:", "    interval_seconds: 3600", "    timeout_seconds: 2",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def controlled(bin_dir: Path, workdir: Path, sims: dict[str, Sim]) -> Iterator[ControlledBridge]:
    bridge = ControlledBridge(bin_dir, workdir, "spark-bridge-fallbacks-controlled", main_and_spare_config(sims["small"], sims["long"], "claude-spare"))
    yield bridge
    bridge.stop()


def test_a_drained_alias_falls_back_and_a_reload_naming_no_alias_is_refused_keeping_the_running_config(controlled: ControlledBridge, sims: dict[str, Sim], marker: str) -> None:
    drained = controlled.sparkctl("drain", "--backend", backend_name(sims["small"]))
    assert drained.returncode == 0, drained.stdout + drained.stderr
    ask(controlled.bridge, "claude-main", f"{marker} first")
    assert sims["small"].requests(marker) == [] and len(sims["long"].requests(marker)) == 1
    assert logged(controlled.bridge, f"hops=claude-main@drained>claude-spare@{backend_name(sims['long'])} ")

    controlled.config.write_text(main_and_spare_config(sims["small"], sims["long"], "claude-nowhere"))
    refused = controlled.sparkctl("reload")
    assert refused.returncode == 1
    assert re.search(r"\.yaml:\d+:\d+: fallbacks: \"claude-nowhere\" \(the fallback of \"claude-main\"\) is no model_name", refused.stdout + refused.stderr), refused.stdout + refused.stderr
    ask(controlled.bridge, "claude-main", f"{marker} second")
    assert len(sims["long"].requests(marker)) == 2
