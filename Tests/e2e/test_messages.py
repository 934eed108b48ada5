# SPDX-License-Identifier: Apache-2.0
"""POST /v1/messages through the official Anthropic SDK: text, streaming, tools, thinking, images,
stop reasons, count_tokens and the ?beta=true path, checked at both ends (the SDK's view and what
vLLM received)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from support import ALIAS, BACKEND_MODEL, directive

# A 1×1 transparent PNG.
PIXEL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

TOOLS: list[dict[str, Any]] = [
    {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
    {
        "name": "get_time",
        "description": "Current time in a time zone.",
        "input_schema": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]},
    },
    {
        "name": "search",
        "description": "Search the web.",
        "input_schema": {
            "type": "object",
            "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
            "required": ["query"],
        },
    },
]


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def create_or_stream(client: Any, streamed: bool, **params: Any) -> Any:
    """The final message, from `messages.create` or from `messages.stream(...).get_final_message()`."""
    if not streamed:
        return client.messages.create(**params)
    with client.messages.stream(**params) as stream:
        return stream.get_final_message()


STREAMED = pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])


@pytest.mark.parametrize("model", [ALIAS, "claude-sonnet-4-6"], ids=["exact-alias", "pattern-alias"])
def test_create_returns_text_usage_and_echoes_the_clients_model_name(bridge, marker, model):
    client = bridge.anthropic()
    text = "Hello from the simulator"
    message = client.messages.create(
        model=model,
        max_tokens=64,
        messages=[user(f"{marker} " + directive(text=text, prompt_tokens=120, cached_tokens=20))],
    )
    assert message.type == "message" and message.role == "assistant"
    assert message.id.startswith("msg_")
    assert message.model == model
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == text
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    # input = prompt - cached; four word pieces + end of sequence.
    assert message.usage.input_tokens == 100
    assert message.usage.cache_read_input_tokens == 20
    assert message.usage.output_tokens == 5
    [sent] = bridge.sim.requests(marker)
    assert sent["body"]["model"] == BACKEND_MODEL
    assert sent["body"]["max_tokens"] == 64
    assert "stream" not in sent["body"]


def test_stream_text_and_final_message_equal_the_non_streamed_message(bridge, marker):
    client = bridge.anthropic()
    text = "Streaming works, word by word — même en français, 漢字も, emoji 🙂👍🏽 — exactly as the whole answer does."
    params = dict(model=ALIAS, max_tokens=128, messages=[user(f"{marker} " + directive(text=text))])
    whole = client.messages.create(**params)
    with client.messages.stream(**params) as stream:
        joined = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert joined == text
    assert [block.model_dump() for block in final.content] == [block.model_dump() for block in whole.content]
    assert final.model == whole.model == ALIAS
    assert final.stop_reason == whole.stop_reason == "end_turn"
    assert final.usage.input_tokens == whole.usage.input_tokens
    assert final.usage.output_tokens == whole.usage.output_tokens
    whole_sent, streamed_sent = bridge.sim.requests(marker)
    assert streamed_sent["body"]["stream"] is True
    assert streamed_sent["body"]["stream_options"] == {"include_usage": True, "continuous_usage_stats": True}
    assert whole_sent["body"]["messages"] == streamed_sent["body"]["messages"]


def test_tool_results_reach_the_backend_as_one_tool_message_each_in_order_before_the_user_text(bridge, marker):
    client = bridge.anthropic()
    calls = [
        {"name": "get_weather", "arguments": {"city": "Paris"}},
        {"name": "get_time", "arguments": {"zone": "Europe/Paris"}},
        {"name": "search", "arguments": {"query": "museums", "limit": 3}},
    ]
    first_turn = user(f"{marker} Plan my afternoon. " + directive(tool_calls=calls))
    first = client.messages.create(model=ALIAS, max_tokens=512, tools=TOOLS, messages=[first_turn])
    assert first.stop_reason == "tool_use"
    uses = [block for block in first.content if block.type == "tool_use"]
    assert [(use.name, use.input) for use in uses] == [(call["name"], call["arguments"]) for call in calls]
    ids = [use.id for use in uses]
    assert len(set(ids)) == 3

    results = [
        {"type": "tool_result", "tool_use_id": ids[0], "content": "18°C and sunny"},
        {"type": "tool_result", "tool_use_id": ids[1], "content": [{"type": "text", "text": "14:05"}, {"type": "text", "text": "CEST"}]},
        {"type": "tool_result", "tool_use_id": ids[2], "content": "search backend offline", "is_error": True},
    ]
    follow_up = f"{marker} Thanks, now summarise. " + directive(text="All three done.")
    second = client.messages.create(
        model=ALIAS,
        max_tokens=512,
        tools=TOOLS,
        messages=[
            first_turn,
            {"role": "assistant", "content": first.content},
            {"role": "user", "content": [*results, {"type": "text", "text": follow_up}]},
        ],
    )
    assert second.content[0].text == "All three done."
    assert second.stop_reason == "end_turn"

    _, sent = bridge.sim.requests(marker)
    messages = sent["body"]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool", "tool", "user"]
    assistant = messages[1]
    assert [c["id"] for c in assistant["tool_calls"]] == ids
    assert [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in assistant["tool_calls"]] == [
        (call["name"], call["arguments"]) for call in calls
    ]
    tool_messages = messages[2:5]
    assert [m["tool_call_id"] for m in tool_messages] == ids
    assert [m["content"] for m in tool_messages] == ["18°C and sunny", "14:05\nCEST", "Error: search backend offline"]
    assert messages[5]["content"] == follow_up


@STREAMED
def test_parallel_tool_calls_become_two_tool_use_blocks_with_parsed_inputs(bridge, marker, streamed):
    calls = [
        {"name": "get_weather", "arguments": {"city": "Paris"}},
        {"name": "get_weather", "arguments": {"city": "Tokyo"}},
    ]
    message = create_or_stream(
        bridge.anthropic(),
        streamed,
        model=ALIAS,
        max_tokens=512,
        tools=TOOLS,
        messages=[user(f"{marker} Weather in Paris and Tokyo? " + directive(tool_calls=calls))],
    )
    assert message.stop_reason == "tool_use"
    assert [block.type for block in message.content] == ["tool_use", "tool_use"]
    assert [(block.name, block.input) for block in message.content] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Tokyo"}),
    ]
    assert message.content[0].id != message.content[1].id
    for block in message.content:
        assert block.id and all(ch.isalnum() or ch in "_-" for ch in block.id)


@pytest.fixture(params=["reasoning", "reasoning_content"], ids=["field-reasoning", "field-reasoning_content"])
def thinking_bridge(request):
    return request.getfixturevalue("bridge" if request.param == "reasoning" else "bridge_to_reasoning_content")


@STREAMED
def test_reasoning_becomes_a_signed_thinking_block_before_the_text(thinking_bridge, marker, streamed):
    reasoning = "First, consider the question carefully."
    message = create_or_stream(
        thinking_bridge.anthropic(),
        streamed,
        model=ALIAS,
        max_tokens=2048,
        thinking={"type": "enabled", "budget_tokens": 1024},
        messages=[user(f"{marker} What is six times seven? " + directive(reasoning=reasoning, text="The answer is 42."))],
    )
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert message.content[0].thinking == reasoning
    assert isinstance(message.content[0].signature, str) and message.content[0].signature
    assert message.content[1].text == "The answer is 42."
    assert message.stop_reason == "end_turn"
    [sent] = thinking_bridge.sim.requests(marker)
    assert sent["body"]["chat_template_kwargs"] == {"enable_thinking": True}


def test_base64_image_reaches_the_backend_as_a_data_url_image_part(bridge, marker):
    client = bridge.anthropic()
    text = f"{marker} What is in this picture? " + directive(text="A single pixel.")
    message = client.messages.create(
        model=ALIAS,
        max_tokens=64,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL_PNG}},
                    {"type": "text", "text": text},
                ],
            }
        ],
    )
    assert message.content[0].text == "A single pixel."
    [sent] = bridge.sim.requests(marker)
    last = sent["body"]["messages"][-1]
    assert last["role"] == "user"
    assert last["content"] == [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + PIXEL_PNG}},
        {"type": "text", "text": text},
    ]
    # The image is counted the way the backend counts it (a media part costs 256 tokens there).
    counted = bridge.sim.tokenize({"model": BACKEND_MODEL, "messages": sent["body"]["messages"]})["count"]
    assert message.usage.input_tokens == counted


@STREAMED
def test_stop_sequence_sets_stop_reason_and_the_matched_sequence(bridge, marker, streamed):
    message = create_or_stream(
        bridge.anthropic(),
        streamed,
        model=ALIAS,
        max_tokens=64,
        stop_sequences=["NEVER", "STOP"],
        messages=[user(f"{marker} " + directive(text="one two three STOP four five"))],
    )
    assert message.stop_reason == "stop_sequence"
    assert message.stop_sequence == "STOP"
    assert message.content[0].text.rstrip() == "one two three"
    [sent] = bridge.sim.requests(marker)
    assert sent["body"]["stop"] == ["NEVER", "STOP"]


@STREAMED
def test_max_tokens_truncates_with_stop_reason_max_tokens(bridge, marker, streamed):
    text = " ".join(f"word{i}" for i in range(40))
    message = create_or_stream(
        bridge.anthropic(),
        streamed,
        model=ALIAS,
        max_tokens=5,
        messages=[user(f"{marker} " + directive(text=text))],
    )
    assert message.stop_reason == "max_tokens"
    assert message.content[0].text == "word0 word1 word2 word3 word4"
    assert message.usage.output_tokens == 5


def test_count_tokens_equals_the_backends_tokenize_count_for_the_same_conversation(bridge, marker):
    client = bridge.anthropic()
    system = "You are terse."
    first = f"{marker} How many tokens is this conversation?"
    tool = TOOLS[0]
    raw = client.messages.with_raw_response.count_tokens(
        model=ALIAS,
        system=system,
        tools=[tool],
        messages=[user(first), {"role": "assistant", "content": "Quite a few."}, user("Count them, please.")],
    )
    counted = raw.parse()
    assert "x-spark-bridge-token-count" not in raw.headers
    # The same conversation as vLLM sees it, built here independently of the bridge.
    openai_messages = [
        {"role": "system", "content": system},
        {"role": "user", "content": first},
        {"role": "assistant", "content": "Quite a few."},
        {"role": "user", "content": "Count them, please."},
    ]
    openai_tools = [
        {"type": "function", "function": {"name": tool["name"], "description": tool["description"], "parameters": tool["input_schema"]}}
    ]
    [sent] = bridge.sim.requests(marker, path="/tokenize")
    assert sent["body"]["messages"] == openai_messages
    assert bridge.sim.requests(marker) == []  # no completion was asked for
    expected = bridge.sim.tokenize({"model": BACKEND_MODEL, "messages": openai_messages, "tools": openai_tools})["count"]
    assert counted.input_tokens == expected


def test_count_tokens_falls_back_to_a_labelled_estimate_when_the_backend_is_down(bridge_to_dead_backend):
    client = bridge_to_dead_backend.anthropic()
    raw = client.messages.with_raw_response.count_tokens(
        model=ALIAS, messages=[user("Roughly how many tokens is this sentence, would you say?")]
    )
    assert raw.headers["x-spark-bridge-token-count"] == "estimate"
    assert raw.parse().input_tokens > 0


def test_beta_messages_create_on_the_beta_true_path_works(bridge, marker):
    # Claude Code (the TypeScript SDK) posts to /v1/messages?beta=true; anthropic 2.13's Python
    # beta client posts to plain /v1/messages, so the query is added here to pin the bridge's side.
    client = bridge.anthropic()
    raw = client.beta.messages.with_raw_response.create(
        model="claude-sonnet-4-6",
        max_tokens=64,
        messages=[user(f"{marker} " + directive(text="Beta path answered."))],
        extra_query={"beta": "true"},
    )
    assert raw.http_request.url.path == "/v1/messages"
    assert raw.http_request.url.params.get("beta") == "true"
    message = raw.parse()
    assert message.content[0].text == "Beta path answered."
    assert message.model == "claude-sonnet-4-6"
    assert len(bridge.sim.requests(marker)) == 1
    counted = client.beta.messages.count_tokens(
        model="claude-sonnet-4-6", messages=[user(f"{marker} count me")], extra_query={"beta": "true"}
    )
    assert counted.input_tokens > 0
    assert len(bridge.sim.requests(marker, path="/tokenize")) == 1
