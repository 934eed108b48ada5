# SPDX-License-Identifier: Apache-2.0
"""Constants and helpers shared by the end-to-end tests and their fixtures."""

from __future__ import annotations

import json
import re
import time
from typing import Any, Iterator

BACKEND_MODEL = "Qwen/Qwen3-Coder-30B-A3B-Instruct"
ALIAS = "claude-test"
PATTERN_ALIAS = "claude-sonnet-*"
MASTER_KEY = "sk-e2e-master-key"
CLIENT_TIMEOUT = 30.0
SMALL_CONTEXT = 1000
SMALL_BODY_LIMIT = 4096
ANTHROPIC_HEADERS = {"content-type": "application/json", "anthropic-version": "2023-06-01"}


def directive(**fields: Any) -> str:
    """A `[[sim:{…}]]` directive for the last user message."""
    return "[[sim:" + json.dumps(fields) + "]]"


def wait_until(predicate: Any, timeout: float, interval: float = 0.05) -> Any:
    """Polls `predicate` until it returns something truthy; returns that, or the last value at the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def sse_events(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    """(event, data) pairs of a server-sent event stream, data decoded from JSON."""
    event: str | None = None
    data: list[str] = []
    for line in lines:
        if line == "":
            if event is not None or data:
                payload = "\n".join(data)
                yield (event or "message", json.loads(payload) if payload else None)
            event, data = None, []
        elif line.startswith("event:"):
            event = line[len("event:"):].strip()
        elif line.startswith("data:"):
            data.append(line[len("data:"):].strip())
    if event is not None or data:
        payload = "\n".join(data)
        yield (event or "message", json.loads(payload) if payload else None)


def metric(text: str, name: str, **labels: str) -> float:
    """The value of the Prometheus sample `name` whose labels include `labels`; 0 when there is none."""
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
            if all(found.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0
