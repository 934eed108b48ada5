# SPDX-License-Identifier: Apache-2.0
"""The small endpoints (/, /health, /v1/models), the OpenAI passthrough driven by the official
`openai` SDK, and `spark-bridge --check`."""

from __future__ import annotations

import subprocess

import openai
import pytest

from support import ALIAS, BACKEND_MODEL, PATTERN_ALIAS, directive


def test_root_answers_200_to_head_and_get(bridge):
    head = bridge.http.head("/")
    assert head.status_code == 200
    assert head.content == b""
    get = bridge.http.get("/")
    assert get.status_code == 200
    assert get.text == "spark-bridge is running\n"


def test_health_reports_ready_with_its_aliases(bridge):
    response = bridge.http.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["ready"] is True
    assert body["aliases"] == 2


def test_models_list_has_the_anthropic_shape_for_anthropic_clients(bridge):
    page = bridge.anthropic().models.list()
    assert [model.id for model in page.data] == [ALIAS]  # patterns are not listed
    assert page.data[0].type == "model" and page.data[0].display_name == ALIAS
    raw = bridge.http.get("/v1/models", headers={"anthropic-version": "2023-06-01"}).json()
    assert set(raw) == {"data", "has_more", "first_id", "last_id"}
    assert raw["has_more"] is False and raw["first_id"] == raw["last_id"] == ALIAS


def test_models_list_has_the_openai_shape_for_other_clients(bridge):
    models = list(bridge.openai().models.list())
    assert [model.id for model in models] == [ALIAS]
    assert models[0].object == "model" and models[0].owned_by == "spark-bridge"
    raw = bridge.http.get("/v1/models").json()
    assert raw["object"] == "list"


def test_openai_sdk_chat_completion_through_the_passthrough_with_the_alias_name(bridge, marker):
    completion = bridge.openai().chat.completions.create(
        model=ALIAS,
        max_tokens=32,
        messages=[{"role": "user", "content": f"{marker} " + directive(text="Passed straight through.")}],
    )
    assert completion.choices[0].message.content == "Passed straight through."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.completion_tokens == 5
    [sent] = bridge.sim.requests(marker)
    assert sent["body"]["model"] == BACKEND_MODEL  # the alias is resolved, the rest relayed


def test_openai_sdk_streaming_chat_completion_through_the_passthrough(bridge, marker):
    stream = bridge.openai().chat.completions.create(
        model=PATTERN_ALIAS.replace("*", "4"),
        max_tokens=32,
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "user", "content": f"{marker} " + directive(text="Streamed straight through.")}],
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Streamed straight through."
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
    [sent] = bridge.sim.requests(marker)
    assert sent["body"]["model"] == BACKEND_MODEL
    assert sent["body"]["stream"] is True


def test_check_flag_accepts_a_valid_config_and_rejects_an_invalid_one(bin_dir, bridge, tmp_path):
    valid = tmp_path / "valid.yaml"
    valid.write_text(bridge.config)
    ok = subprocess.run([str(bin_dir / "spark-bridge"), "--config", str(valid), "--check"], capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    assert "OK" in ok.stdout
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(bridge.config.replace('"openai/', '"bedrock/', 1))
    bad = subprocess.run([str(bin_dir / "spark-bridge"), "--config", str(invalid), "--check"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 1
    assert f"{invalid}:" in bad.stderr  # errors are reported as file:line:column


def test_passthrough_unknown_model_is_openai_shaped_404(bridge):
    with pytest.raises(openai.NotFoundError) as caught:
        bridge.openai().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert caught.value.code == "model_not_found"
    assert "known aliases: claude-test" in caught.value.message


def test_passthrough_to_an_unreachable_backend_is_openai_shaped_503(bridge_to_dead_backend):
    with pytest.raises(openai.InternalServerError) as caught:
        bridge_to_dead_backend.openai().chat.completions.create(model=ALIAS, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 503
    assert caught.value.type == "server_error"
