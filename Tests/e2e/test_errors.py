# SPDX-License-Identifier: Apache-2.0
"""Every error class a client can see: what the bridge itself refuses (400, 401, 404, 413) and how
backend failures (429, 5xx, unreachable, context overflow) reach the Anthropic SDK."""

from __future__ import annotations

import json

import anthropic
import openai
import pytest

from support import ALIAS, ANTHROPIC_HEADERS, BACKEND_MODEL, MASTER_KEY, PATTERN_ALIAS, SMALL_BODY_LIMIT, SMALL_CONTEXT, directive

def user(text: str) -> dict:
    return {"role": "user", "content": text}


def error_of(exc: anthropic.APIStatusError) -> dict:
    assert isinstance(exc.body, dict), exc.body
    assert exc.body["type"] == "error"
    return exc.body["error"]


# 400


def test_malformed_json_body_is_400_invalid_request_error(bridge):
    response = bridge.http.post(
        "/v1/messages", content=b'{"model": "claude-test", "max_tokens": 5, "messages": [', headers=ANTHROPIC_HEADERS
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert "not valid JSON" in body["error"]["message"]
    assert body["request_id"] == response.headers["request-id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": ALIAS, "messages": [user("hi")]}, "max_tokens"),
        ({"max_tokens": 5, "messages": [user("hi")]}, "model"),
        ({"model": ALIAS, "max_tokens": 5}, "messages"),
        ({"model": ALIAS, "max_tokens": 5, "messages": [{"role": "user"}]}, "messages.0.content"),
    ],
    ids=["max_tokens", "model", "messages", "messages.0.content"],
)
def test_missing_required_field_is_400_naming_the_field(bridge, body, field):
    response = bridge.http.post("/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith(f"{field}:"), error["message"]
    assert "Field required" in error["message"]


def test_sdk_raises_bad_request_error_naming_the_missing_field(bridge):
    with pytest.raises(anthropic.BadRequestError) as caught:
        bridge.anthropic().messages.create(
            model=ALIAS, max_tokens=16, messages=[user("fine"), {"role": "assistant"}]  # type: ignore[list-item]
        )
    assert caught.value.status_code == 400
    error = error_of(caught.value)
    assert error["type"] == "invalid_request_error"
    assert error["message"] == "messages.1.content: Field required"


# 401


def test_wrong_key_is_401_authentication_error(bridge_with_master_key):
    with pytest.raises(anthropic.AuthenticationError) as caught:
        bridge_with_master_key.anthropic(api_key="sk-wrong").messages.create(model=ALIAS, max_tokens=8, messages=[user("hi")])
    assert error_of(caught.value)["type"] == "authentication_error"


def test_missing_key_is_401_authentication_error(bridge_with_master_key):
    client = bridge_with_master_key.anthropic(default_headers={"Authorization": anthropic.omit})
    with pytest.raises(anthropic.AuthenticationError) as caught:
        client.messages.create(model=ALIAS, max_tokens=8, messages=[user("hi")])
    assert "authorization" not in caught.value.response.request.headers
    assert "x-api-key" not in caught.value.response.request.headers
    error = error_of(caught.value)
    assert error["type"] == "authentication_error"
    assert error["message"] == "x-api-key header is required"


def test_right_key_in_x_api_key_is_accepted(bridge_with_master_key, marker):
    client = bridge_with_master_key.anthropic(default_headers={"Authorization": anthropic.omit, "x-api-key": MASTER_KEY})
    raw = client.messages.with_raw_response.create(
        model=ALIAS, max_tokens=16, messages=[user(f"{marker} " + directive(text="Key accepted."))]
    )
    assert raw.http_request.headers["x-api-key"] == MASTER_KEY
    assert "authorization" not in raw.http_request.headers
    assert raw.parse().content[0].text == "Key accepted."


def test_right_key_as_authorization_bearer_is_accepted(bridge_with_master_key, marker):
    client = bridge_with_master_key.anthropic(api_key=MASTER_KEY, default_headers={"x-api-key": anthropic.omit})
    raw = client.messages.with_raw_response.create(
        model=ALIAS, max_tokens=16, messages=[user(f"{marker} " + directive(text="Bearer accepted."))]
    )
    assert raw.http_request.headers["authorization"] == f"Bearer {MASTER_KEY}"
    assert "x-api-key" not in raw.http_request.headers
    assert raw.parse().content[0].text == "Bearer accepted."
    # The client's key is not the backend's: the deployment's own api_key goes upstream.
    [sent] = bridge_with_master_key.sim.requests(marker)
    assert sent["headers"].get("authorization") == "Bearer none"


def test_openai_client_with_wrong_key_gets_openai_shaped_401(bridge_with_master_key):
    with pytest.raises(openai.AuthenticationError) as caught:
        bridge_with_master_key.openai(api_key="sk-wrong").chat.completions.create(model=ALIAS, messages=[user("hi")])
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"


def test_models_list_needs_the_key_in_either_shape(bridge_with_master_key):
    anthropic_shaped = bridge_with_master_key.http.get("/v1/models", headers={"anthropic-version": "2023-06-01"})
    assert anthropic_shaped.status_code == 401
    assert anthropic_shaped.json()["error"]["type"] == "authentication_error"
    openai_shaped = bridge_with_master_key.http.get("/v1/models")
    assert openai_shaped.status_code == 401
    assert openai_shaped.json()["error"]["code"] == "invalid_api_key"
    assert bridge_with_master_key.http.get("/v1/models", headers={"x-api-key": MASTER_KEY}).status_code == 200


def test_root_and_health_need_no_key(bridge_with_master_key):
    assert bridge_with_master_key.http.get("/").status_code == 200
    assert bridge_with_master_key.http.get("/health").status_code == 200


# 404 and 405


def test_unknown_path_is_404_and_wrong_method_is_405(bridge):
    missing = bridge.http.post("/v1/complete", json={}, headers=ANTHROPIC_HEADERS)
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found_error"
    wrong = bridge.http.get("/v1/messages", headers=ANTHROPIC_HEADERS)
    assert wrong.status_code == 405
    assert wrong.json()["error"]["type"] == "invalid_request_error"


def test_wrong_method_names_the_allowed_ones_and_takes_the_route_s_error_shape(bridge):
    """405 carries `Allow` from the route table; the passthrough answers it in OpenAI's shape."""
    assert bridge.http.get("/v1/messages", headers=ANTHROPIC_HEADERS).headers["allow"] == "POST"
    assert bridge.http.post("/health").headers["allow"] == "GET, HEAD"
    assert bridge.http.post("/metrics").headers["allow"] == "GET"
    passthrough = bridge.http.get("/v1/chat/completions")
    assert passthrough.status_code == 405 and passthrough.headers["allow"] == "POST"
    assert passthrough.json()["error"]["type"] == "invalid_request_error" and "type" not in passthrough.json()


def test_unknown_model_without_default_is_404_listing_the_aliases(bridge, marker):
    with pytest.raises(anthropic.NotFoundError) as caught:
        bridge.anthropic().messages.create(model="gpt-4o", max_tokens=8, messages=[user(f"{marker} hi")])
    error = error_of(caught.value)
    assert error["type"] == "not_found_error"
    assert error["message"] == f"unknown model gpt-4o; known aliases: {ALIAS}, {PATTERN_ALIAS}"
    assert bridge.sim.requests(marker) == []


def test_default_model_serves_any_model_name(bridge_with_default_model, marker):
    message = bridge_with_default_model.anthropic().messages.create(
        model="gpt-4o", max_tokens=16, messages=[user(f"{marker} " + directive(text="Served by the default."))]
    )
    assert message.content[0].text == "Served by the default."
    assert message.model == "gpt-4o"
    [sent] = bridge_with_default_model.sim.requests(marker)
    assert sent["body"]["model"] == BACKEND_MODEL


# 413


def test_body_over_max_body_bytes_is_413_request_too_large(bridge_with_small_body_limit, marker):
    client = bridge_with_small_body_limit.anthropic()
    with pytest.raises(anthropic.ContentTooLargeError) as caught:
        client.messages.create(model=ALIAS, max_tokens=8, messages=[user(f"{marker} " + "x" * (2 * SMALL_BODY_LIMIT))])
    assert caught.value.status_code == 413
    assert error_of(caught.value)["type"] == "request_too_large"
    assert bridge_with_small_body_limit.sim.requests(marker) == []
    # A body under the limit still goes through.
    small = client.messages.create(model=ALIAS, max_tokens=8, messages=[user(f"{marker} " + directive(text="Small enough."))])
    assert small.content[0].text == "Small enough."


def test_chunked_body_growing_over_max_body_bytes_is_413(bridge_with_small_body_limit, marker):
    body = json.dumps({"model": ALIAS, "max_tokens": 8, "messages": [user(f"{marker} " + "y" * (2 * SMALL_BODY_LIMIT))]}).encode()

    def chunks():  # no content-length: the limit must be enforced while reading
        for start in range(0, len(body), 1024):
            yield body[start : start + 1024]

    response = bridge_with_small_body_limit.http.post("/v1/messages", content=chunks(), headers=ANTHROPIC_HEADERS)
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_too_large"
    assert bridge_with_small_body_limit.sim.requests(marker) == []


def test_passthrough_body_over_max_body_bytes_is_an_openai_shaped_413(bridge_with_small_body_limit, marker):
    """The route table's error shape holds while the body is read too: the OpenAI SDK reads the refusal."""
    client = bridge_with_small_body_limit.openai()
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model=ALIAS, max_tokens=8, messages=[user(f"{marker} " + "z" * (2 * SMALL_BODY_LIMIT))])
    assert caught.value.status_code == 413
    body = caught.value.response.json()
    assert "type" not in body and body["error"]["type"] == "invalid_request_error" and "max" in body["error"]["message"]
    body = json.dumps({"model": ALIAS, "messages": [user(f"{marker} " + "z" * (2 * SMALL_BODY_LIMIT))]}).encode()
    chunked = bridge_with_small_body_limit.http.post("/v1/chat/completions", content=iter([body[:1024], body[1024:]]))
    assert chunked.request.headers.get("transfer-encoding") == "chunked"
    assert chunked.status_code == 413 and chunked.json()["error"]["param"] is None
    assert bridge_with_small_body_limit.sim.requests(marker) == []


# Backend HTTP errors


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_backend_429_is_rate_limit_error(bridge, marker, streamed):
    client = bridge.anthropic()
    params = dict(
        model=ALIAS,
        max_tokens=16,
        messages=[user(f"{marker} " + directive(error={"status": 429, "message": "Too many requests in flight"}))],
    )
    with pytest.raises(anthropic.RateLimitError) as caught:
        if streamed:
            with client.messages.stream(**params) as stream:
                stream.until_done()
        else:
            client.messages.create(**params)
    error = error_of(caught.value)
    assert error["type"] == "rate_limit_error"
    assert "Too many requests in flight" in error["message"]


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("status", [500, 503])
def test_backend_5xx_is_529_overloaded_error(bridge, marker, status, streamed):
    client = bridge.anthropic()
    params = dict(
        model=ALIAS,
        max_tokens=16,
        messages=[user(f"{marker} " + directive(error={"status": status, "message": "engine dead"}))],
    )
    with pytest.raises(anthropic.OverloadedError) as caught:
        if streamed:
            with client.messages.stream(**params) as stream:
                stream.until_done()
        else:
            client.messages.create(**params)
    assert caught.value.status_code == 529
    error = error_of(caught.value)
    assert error["type"] == "overloaded_error"
    assert f"HTTP {status}" in error["message"] and "engine dead" in error["message"]
    assert len(bridge.sim.requests(marker)) == 1  # max_retries=0: exactly one attempt


def test_unreachable_backend_is_529_overloaded_error(bridge_to_dead_backend):
    with pytest.raises(anthropic.OverloadedError) as caught:
        bridge_to_dead_backend.anthropic().messages.create(model=ALIAS, max_tokens=8, messages=[user("hi")])
    assert caught.value.status_code == 529
    error = error_of(caught.value)
    assert error["type"] == "overloaded_error"
    # The first request finds the port closed; once the health monitor has seen it fail, requests fail
    # fast without contacting it. Both are 529 overloaded_error.
    assert error["message"].startswith("The backend is unavailable") or error["message"].startswith(
        f"all backends for alias {ALIAS} are down"
    )


# Context length


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
def test_context_overflow_is_retried_once_with_the_max_tokens_that_fit(bridge_to_small_context, marker, streamed):
    client = bridge_to_small_context.anthropic()
    params = dict(
        model=ALIAS, max_tokens=800, messages=[user(f"{marker} " + directive(text="Fits now.", prompt_tokens=600))]
    )
    if streamed:
        with client.messages.stream(**params) as stream:
            message = stream.get_final_message()
    else:
        message = client.messages.create(**params)
    assert message.content[0].text == "Fits now."
    assert message.stop_reason == "end_turn"
    sent = bridge_to_small_context.sim.requests(marker)
    # The prompt (scripted at 600 tokens) is far larger than its body suggests, so the bridge's estimate
    # misses and vLLM refuses the first call; the one retry asks for exactly the room the error names.
    assert len(sent) == 2 and sent[0]["body"]["max_tokens"] <= 800
    assert sent[1]["body"]["max_tokens"] == SMALL_CONTEXT - 600
    assert [r["status"] for r in sent] == [400, 200]


def test_prompt_longer_than_the_context_is_400_prompt_is_too_long(bridge_to_small_context, marker):
    with pytest.raises(anthropic.BadRequestError) as caught:
        bridge_to_small_context.anthropic().messages.create(
            model=ALIAS, max_tokens=100, messages=[user(f"{marker} " + directive(text="never", prompt_tokens=1500))]
        )
    error = error_of(caught.value)
    assert error["type"] == "invalid_request_error"
    assert error["message"] == f"prompt is too long: 1500 tokens > {SMALL_CONTEXT} maximum"
    assert len(bridge_to_small_context.sim.requests(marker)) == 1  # nothing to retry
