# SPDX-License-Identifier: Apache-2.0
"""`make bench` keeps working: a short spark-bench run over real vllm-sim and spark-bridge processes.

The numbers of a --quick run mean nothing (debug build, fractions of a second per load); what is
checked is that the harness starts everything, that every request of the direct and bridge paths
completes, and that the report has each scenario. LiteLLM is left out here (it takes a minute to
install and seconds to start); `make bench` runs it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from conftest import REPO_ROOT


def test_a_quick_spark_bench_run_writes_every_section(bin_dir: Path, tmp_path: Path) -> None:
    report = tmp_path / "BENCHMARKS.md"
    run = subprocess.run(
        [str(bin_dir / "spark-bench"), "--quick", "--bin-dir", str(bin_dir), "--output", str(report)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    text = report.read_text()
    for heading in (
        "## Targets", "### 1a.", "### 1b.", "### 1c. A lone request on an idle machine", "## 2. Streaming", "## 3. A Claude Code-size request",
        "## 4. Start to ready", "## 5. spark-bridge memory", "## 6. Routing",
    ):
        assert heading in text, heading
    assert "LiteLLM was not measured" in text
    # 1c sets the hand-off cost measured in the run beside both processes' CPU per request.
    lone = text.split("### 1c.", 1)[1].split("## 2.", 1)[0]
    assert re.search(r"\| one thread hand-off .*\| [\d.]+ \| [\d.]+ \(p90 [\d.]+\) \| [\d.]+× \|", lone), lone
    assert "| vllm-sim CPU per request" in lone and "| spark-bridge CPU per request" in lone, lone

    # Every measured row of both paths: all requests ok, none failed.
    rows = [line for line in text.splitlines() if re.match(r"\| \d+ \| (vLLM direct|spark-bridge) ", line)]
    assert len(rows) == 2 * (2 + 2 + 2 + 1), rows  # 1a, 1b and 2 at two loads each, 3 at one
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        outcome = cells[7]
        if " / " in outcome:  # "ok / failed"
            ok, failed = (int(part) for part in outcome.split(" / "))
            assert ok > 0 and failed == 0, row
        else:  # "N of M" complete streams
            complete, total = (int(part) for part in re.findall(r"\d+", outcome)[:2])
            assert complete == total > 0, row
    assert re.search(r"\| spark-bridge \| READY=1 on NOTIFY_SOCKET \| [\d.]+ \|", text)


    # Routing: a row per strategy and the kill run, every turn answered in each strategy's run; the
    # replicas' prefix caches serve more of the prompts under session affinity than under round-robin.
    routing = {}
    for line in text.split("## 6. Routing", 1)[1].splitlines():
        match = re.match(r"\| (least-busy|round-robin|session-affinity(?:, replica \d killed halfway)?) \| (\d+) / (\d+).*? \| [\d.]+ \| [\d.]+ \| ([\d.]+)% \|", line)
        if match:
            routing[match.group(1)] = (int(match.group(2)), int(match.group(3)), float(match.group(4)))
    assert set(routing) >= {"least-busy", "round-robin", "session-affinity"}, routing
    assert any(name.endswith("killed halfway") for name in routing), routing
    for name in ("least-busy", "round-robin", "session-affinity"):
        ok, failed, _ = routing[name]
        assert ok == 8 * 6 and failed == 0, (name, routing[name])
    assert routing["session-affinity"][2] > routing["round-robin"][2], routing
    assert "Routing: session-affinity prefix-cache hit rate" in text
