#!/usr/bin/env python3
"""Writes the committed seed corpus (Fuzz/Corpus/<target>/) from the protocol captures in
../shared/protocol (or $SPARK_BRIDGE_PROTOCOL_DIR) and the repository's own configs.

Run by hand when the captures change; `make fuzz` reads only the committed files. Inputs of fixed
findings live beside the seeds as `regression-*`, and seeds written by hand as `hand-*`; both are kept. The stream and
error targets take a header before the body (see their sources): it is written here.
"""
import json
import os
import pathlib
import shutil

repo = pathlib.Path(__file__).resolve().parent.parent
protocol = pathlib.Path(os.environ.get("SPARK_BRIDGE_PROTOCOL_DIR", repo.parent / "shared" / "protocol"))
corpus = repo / "Fuzz" / "Corpus"
largest = 64 * 1024  # make fuzz's -max_len


def reset(target):
    """Empties a target's seeds, keeping the `regression-*` inputs of fixed findings and `hand-*` seeds."""
    directory = corpus / target
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.iterdir():
        if not path.name.startswith(("regression-", "hand-")):
            path.unlink()
    return directory


def captures(*patterns):
    for pattern in patterns:
        for path in sorted(protocol.glob(pattern)):
            if path.stat().st_size <= largest:
                yield path


def write(directory, name, data):
    (directory / name).write_bytes(data)


def sse(chunks):
    return b"".join(b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n" for chunk in chunks) + b"data: [DONE]\n\n"


def content_stream(text, pieces=3):
    """A vLLM chat.completion.chunk stream carrying `text` as plain content, cut in `pieces`."""
    step = max(1, len(text) // pieces)
    parts = [text[i:i + step] for i in range(0, len(text), step)]
    chunks = [{"id": "chatcmpl-seed", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    chunks += [{"id": "chatcmpl-seed", "choices": [{"index": 0, "delta": {"content": part}, "finish_reason": None}]} for part in parts]
    chunks.append({"id": "chatcmpl-seed", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    chunks.append({"id": "chatcmpl-seed", "choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 9, "prompt_tokens_details": {"cached_tokens": 4}}})
    return sse(chunks)


# JSON parser: every JSON capture.
directory = reset("fuzz-json")
for path in captures("*/*.json"):
    shutil.copy(path, directory / path.name)

# Request translation: Anthropic request bodies (Claude Code's among them).
directory = reset("fuzz-request")
for path in captures("anthropic/anthropic-request-*.json", "anthropic/anthropic-count-tokens-request.json", "claude-code/claude-code-main-request-shape.json"):
    shutil.copy(path, directory / path.name)

# Stream translation: [context selector, piece size - 1] + a vLLM/OpenAI stream or whole answer.
directory = reset("fuzz-stream")
headers = [bytes([0, 255]), bytes([1, 0]), bytes([2, 6]), bytes([4, 63]), bytes([7, 1])]
bodies = [(path.name, path.read_bytes()) for path in captures("vllm/*.sse", "openai/*.sse", "vllm/vllm-response-*.json", "openai/openai-response-*.json")]
bodies += [(path.stem + ".sse", content_stream(path.read_text())) for path in captures("qwen/qwen3*-raw-*.txt")]
for number, (name, body) in enumerate(bodies):
    write(directory, name, headers[number % len(headers)] + body)

# Upstream errors: [status, big-endian] + body.
directory = reset("fuzz-upstream-error")
for number, path in enumerate(captures("vllm/vllm-error-*.json", "openai/openai-error-*.json")):
    write(directory, path.name, (400).to_bytes(2, "big") + path.read_bytes())
for status in (404, 413, 429, 500, 503):
    write(directory, f"status-{status}.json", status.to_bytes(2, "big") + b'{"object":"error","message":"failed","type":"Error","param":null,"code":%d}' % status)
write(directory, "html-200.html", (200).to_bytes(2, "big") + b"<html><body><h1>502 Bad Gateway</h1></body></html>\n")
write(directory, "stream-error.json", (200).to_bytes(2, "big") + b'{"error": {"message": "Internal server error", "type": "InternalServerError", "param": null, "code": 500}}')

# Config loader: the shipped, demo and test configurations.
directory = reset("fuzz-config")
for path in [repo / "etc/spark-bridge/config.yaml", repo / "etc/demo/demo.yaml", repo / "packaging/litellm_config.yaml",
             *sorted((repo / "Tests/system").glob("config*.yaml"))]:
    shutil.copy(path, directory / f"{path.parent.name}-{path.name}")

# Control lines: one per verb and argument.
directory = reset("fuzz-control")
lines = [
    {"version": 1, "verb": "status"}, {"version": 1, "verb": "health"}, {"version": 1, "verb": "aliases"},
    {"version": 1, "verb": "reload"}, {"version": 1, "verb": "drain", "timeout_seconds": 30.5, "backend": "127.0.0.1:8000"},
    {"version": 1, "verb": "resume", "backend": "gpu-1"}, {"version": 2, "verb": "status"},
]
for number, line in enumerate(lines):
    write(directory, f"line-{number}.json", json.dumps(line).encode())

# vLLM /metrics pages: the current names (vLLM 0.10+, as vllm-sim serves them), the gpu_ names of
# vLLM 0.8-0.9, the V0 engine's page (model_name only, swapped requests), two data-parallel engines,
# and escaped label values.
directory = reset("fuzz-metrics")


def metrics_page(model, running, waiting, usage, queries, hits, legacy=False, engines=("0",)):
    cache = "vllm:gpu_cache_usage_perc" if legacy else "vllm:kv_cache_usage_perc"
    prefix = "vllm:gpu_prefix_cache" if legacy else "vllm:prefix_cache"
    escaped = model.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    lines = ["# HELP python_gc_objects_collected_total Objects collected during gc",
             "# TYPE python_gc_objects_collected_total counter",
             'python_gc_objects_collected_total{generation="0"} 4556.0']
    for name, kind, value in [("vllm:num_requests_running", "gauge", running), ("vllm:num_requests_waiting", "gauge", waiting),
                              (cache, "gauge", usage), (f"{prefix}_queries_total", "counter", queries),
                              (f"{prefix}_hits_total", "counter", hits)]:
        lines += [f"# HELP {name} figure", f"# TYPE {name} {kind}"]
        lines += [f'{name}{{engine="{engine}",model_name="{escaped}"}} {float(value)!r}' for engine in engines]
    lines.append(f'vllm:time_to_first_token_seconds_bucket{{engine="0",le="+Inf",model_name="{escaped}"}} 12.0')
    return ("\n".join(lines) + "\n").encode()


write(directory, "current.txt", metrics_page("Qwen/Qwen3-Coder-30B-A3B-Instruct", 3, 2, 0.4375, 1200000, 900000))
write(directory, "legacy.txt", metrics_page("Qwen/Qwen3-Coder-30B-A3B-Instruct", 1, 0, 0.02, 512, 0, legacy=True))
write(directory, "data-parallel.txt", metrics_page("m", 4, 7, 0.9, 1e9, 2.5e8, engines=("0", "1")))
write(directory, "escaped-label.txt", metrics_page('a"b\\c\nd', 0, 0, 0.0, 0, 0))
write(directory, "v0-engine.txt", b"""# HELP vllm:num_requests_running Number of requests currently running on GPU.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="m"} 1.0
# HELP vllm:num_requests_swapped Number of requests swapped to CPU.
# TYPE vllm:num_requests_swapped gauge
vllm:num_requests_swapped{model_name="m"} 0.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="m"} 5.0 1764000000000
# HELP vllm:gpu_cache_usage_perc GPU KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:gpu_cache_usage_perc gauge
vllm:gpu_cache_usage_perc{model_name="m"} NaN
""")

# Anthropic API answers as the relay reads them: byte 0 odd for a stream, even for a whole answer;
# byte 1 the piece size.
directory = reset("fuzz-relay")
for path in captures("anthropic/anthropic-stream-*.sse"):
    write(directory, path.stem + ".sse", bytes([1, 63]) + path.read_bytes())
for path in captures("anthropic/anthropic-response-*.json", "anthropic/anthropic-count-tokens-response.json", "anthropic/anthropic-error-*.json"):
    write(directory, path.stem + ".json", bytes([0, 31]) + path.read_bytes())
