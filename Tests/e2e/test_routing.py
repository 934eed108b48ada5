# SPDX-License-Identifier: Apache-2.0
"""Session affinity against real processes: two vllm-sim instances behind one alias, a real
spark-bridge in front, the official anthropic SDK as the client. Where each request landed is read
from each simulator's `/sim/requests`."""

from __future__ import annotations

import json
import signal
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from conftest import Bridge, Sim
from support import BACKEND_MODEL, directive, wait_until

POOL_ALIAS = "claude-pool"


def pool_config(sims: list[Sim], strategy: str | None = None) -> str:
    q = json.dumps
    lines = ["model_list:"]
    for sim in sims:
        lines += [
            f"  - model_name: {q(POOL_ALIAS)}",
            "    litellm_params:",
            f"      model: {q('openai/' + BACKEND_MODEL)}",
            f"      api_base: {q(sim.url + '/v1')}",
        ]
    lines += ["spark_bridge:", "  warmup:", "    enabled: false", "  health:", "    interval_seconds: 3600", "    timeout_seconds: 2"]
    if strategy is not None:
        lines += ["  routing:", f"    strategy: {q(strategy)}"]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def pool_sims(start_sim: Any) -> list[Sim]:
    return [start_sim("vllm-sim-pool-a"), start_sim("vllm-sim-pool-b")]


@pytest.fixture(scope="module")
def pool_bridge(start_bridge: Any, pool_sims: list[Sim]) -> Bridge:
    return start_bridge("spark-bridge-pool", pool_config(pool_sims), None)


def landed(sims: list[Sim], marker: str) -> list[int]:
    """How many requests carrying `marker` each simulator received."""
    return [len(sim.requests(marker)) for sim in sims]


def ask(bridge: Bridge, prompt: str, session: str | None = None, **options: Any) -> None:
    headers = {"X-Claude-Code-Session-Id": session} if session is not None else {}
    message = bridge.anthropic().messages.create(
        model=POOL_ALIAS, max_tokens=16, messages=options.pop("messages", [{"role": "user", "content": prompt}]),
        extra_headers=headers, **options,
    )
    assert message.type == "message"


def test_one_session_id_lands_on_one_instance(pool_bridge: Bridge, pool_sims: list[Sim], marker: str) -> None:
    for session in ("0b6e3da1-3bc3-44d2-875b-2a9146dddd15", "ea811d1f-6b77-440d-8329-010d5505da9a"):
        tag = f"{marker}-{session}"
        for turn in range(12):
            ask(pool_bridge, f"{tag} turn {turn}", session=session)
        counts = landed(pool_sims, tag)
        assert sorted(counts) == [0, 12], counts
    log = pool_bridge.process.stderr_tail(400)
    assert f"{POOL_ALIAS} -> {BACKEND_MODEL} @" in log and " route=affinity " in log


def test_different_sessions_spread_over_both(pool_bridge: Bridge, pool_sims: list[Sim], marker: str) -> None:
    for index in range(40):
        ask(pool_bridge, f"{marker} session {index}", session=f"e2e-spread-session-{index}")
    counts = landed(pool_sims, marker)
    assert sum(counts) == 40
    assert min(counts) >= 8, f"40 sessions over two instances: {counts}"


def test_without_the_header_the_conversation_start_keeps_a_session_together(pool_bridge: Bridge, pool_sims: list[Sim], marker: str) -> None:
    # Each turn re-sends the conversation: same system prompt, same first user message.
    system = f"You are a test agent {marker}."
    for conversation in range(6):
        first = {"role": "user", "content": f"{marker} task {conversation}"}
        history = [first]
        for turn in range(4):
            ask(pool_bridge, "", system=system, messages=history)
            history = history + [{"role": "assistant", "content": f"step {turn}"}, {"role": "user", "content": f"go on {turn}"}]
        counts = landed(pool_sims, f"{marker} task {conversation}")
        assert sorted(counts) == [0, 4], f"conversation {conversation}: {counts}"


def test_round_robin_alternates_whatever_the_session(start_bridge: Any, pool_sims: list[Sim], marker: str) -> None:
    bridge = start_bridge("spark-bridge-pool-round-robin", pool_config(pool_sims, "round-robin"), None)
    for turn in range(6):
        ask(bridge, f"{marker} turn {turn}", session="one-session")
    assert landed(pool_sims, marker) == [3, 3]
    assert wait_until(lambda: " route=round-robin " in bridge.process.stderr_tail(), 5)


def test_a_session_whose_instance_is_over_the_load_bound_spills_to_the_other(pool_bridge: Bridge, pool_sims: list[Sim], marker: str) -> None:
    session = f"spill-{marker}"
    ask(pool_bridge, f"{marker} first", session=session)
    home = landed(pool_sims, marker).index(1)
    # Two slow streams of the session hold its instance: with a third, 3 > ⌈1.25 × 3/2⌉ = 2.
    slow = directive(text=" ".join(["slow"] * 60), tokens_per_second=10)
    with ThreadPoolExecutor(max_workers=2) as pool:
        streams = [pool.submit(stream_to_end, pool_bridge, f"{marker} slow {index} {slow}", session) for index in range(2)]
        assert wait_until(lambda: len(pool_sims[home].requests(f"{marker} slow")) == 2, 10), "both slow streams reached the home instance"
        ask(pool_bridge, f"{marker} spilled", session=session)
        assert len(pool_sims[1 - home].requests(f"{marker} spilled")) == 1
        assert len(pool_sims[home].requests(f"{marker} spilled")) == 0
        assert wait_until(lambda: " route=spilled " in pool_bridge.process.stderr_tail(400), 5)
        for future in streams:
            future.result(timeout=30)
    # Once they are done, the session is home again.
    ask(pool_bridge, f"{marker} back", session=session)
    assert len(pool_sims[home].requests(f"{marker} back")) == 1


def stream_to_end(bridge: Bridge, prompt: str, session: str) -> None:
    """A streamed request read to its end (the slow directive makes that take a while)."""
    with bridge.anthropic().messages.stream(
        model=POOL_ALIAS, max_tokens=1000, messages=[{"role": "user", "content": prompt}],
        extra_headers={"X-Claude-Code-Session-Id": session},
    ) as stream:
        for _ in stream.text_stream:
            pass


def homes(bridge: Bridge, sims: list[Sim], sessions: list[str], tag: str) -> dict[str, int]:
    """One request per session; which simulator each landed on."""
    found: dict[str, int] = {}
    for session in sessions:
        ask(bridge, f"{tag} {session}", session=session)
        counts = landed(sims, f"{tag} {session}")
        assert sorted(counts) == [0] * (len(sims) - 1) + [1], (session, counts)
        found[session] = counts.index(1)
    return found


def test_a_reload_that_keeps_a_deployment_keeps_its_sessions(start_sim: Any, start_bridge: Any, workdir: Any, marker: str) -> None:
    sims = [start_sim(f"vllm-sim-reload-{index}") for index in range(3)]
    bridge = start_bridge("spark-bridge-pool-reload", pool_config(sims), None)
    sessions = [f"reload-{marker}-{index}" for index in range(24)]
    before = homes(bridge, sims, sessions, f"{marker} before")
    assert len(set(before.values())) == 3, before
    # The same two deployments in the other order, the third gone.
    (workdir / "spark-bridge-pool-reload.yaml").write_text(pool_config([sims[1], sims[0]]))
    bridge.process.popen.send_signal(signal.SIGHUP)
    assert wait_until(lambda: "configuration reloaded" in bridge.process.stderr_tail(), 10)
    after = homes(bridge, sims, sessions, f"{marker} after")
    for session in sessions:
        if before[session] == 2:
            assert after[session] in (0, 1), session
        else:
            assert after[session] == before[session], session


def test_a_downed_instance_moves_only_its_own_sessions(start_sim: Any, start_bridge: Any, marker: str) -> None:
    sims = [start_sim(f"vllm-sim-down-{index}") for index in range(3)]
    config = pool_config(sims).replace("interval_seconds: 3600", "interval_seconds: 1\n    failures_before_down: 1").replace("timeout_seconds: 2", "timeout_seconds: 1")
    bridge = start_bridge("spark-bridge-pool-down", config, None)
    sessions = [f"down-{marker}-{index}" for index in range(24)]
    before = homes(bridge, sims, sessions, f"{marker} before")
    assert len(set(before.values())) == 3, before
    victim = before[sessions[0]]
    sims[victim].process.stop()

    def victim_down() -> bool:
        backends = bridge.http.get("/health").json()["backends"]
        return any(sims[victim].url in backend["name"] or str(sims[victim].url).split(":")[-1] in backend["name"] for backend in backends if backend["state"] == "down")

    assert wait_until(victim_down, 15), bridge.http.get("/health").text
    live = [sim for index, sim in enumerate(sims) if index != victim]
    after = homes(bridge, live, sessions, f"{marker} after")
    moved = 0
    for session in sessions:
        home = sims.index(live[after[session]])
        if before[session] == victim:
            moved += 1
        else:
            assert home == before[session], session
    assert moved == sum(1 for home in before.values() if home == victim) > 0
