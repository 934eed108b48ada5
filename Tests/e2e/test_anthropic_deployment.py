# SPDX-License-Identifier: Apache-2.0
"""The Anthropic API as a deployment, against real processes: a stand-in Anthropic server over TLS
(Python `ssl` + `http.server` on 127.0.0.1, port 0) whose certificate is signed by a test CA made
here with `openssl`; a real spark-bridge configured with `anthropic/<model>` and `ca_file` pointing
at that CA; the official anthropic SDK as the client. Nothing leaves loopback: every `api_base` is
the stand-in's `https://127.0.0.1:<port>`."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import anthropic
import httpx
import pytest

from conftest import Bridge, Process, Sim
from support import ALIAS, BACKEND_MODEL, wait_until

CLOUD_ALIAS = "claude-opus-*"
CLIENT_MODEL = "claude-opus-4-7"
UPSTREAM_MODEL = "claude-opus-4-5"
DEPLOYMENT_KEY = "sk-ant-deployment-key-e2e"
CLIENT_KEY = "sk-ant-client-own-key-e2e"
BETA = "interleaved-thinking-2025-05-14"

# The stand-in's answers, written with an escape and a field order a re-serializer would change, so
# that equal bytes at the client prove the relay copied them.
NONSTREAM_BODY = (
    b'{"id":"msg_standin_01","type":"message","role":"assistant","model":"claude-opus-4-5",'
    b'"content":[{"type":"text","text":"Hello from the cloud \\u00e9"}],"stop_reason":"end_turn",'
    b'"stop_sequence":null,"usage":{"input_tokens":21,"cache_creation_input_tokens":0,"cache_read_input_tokens":3,"output_tokens":9}}'
)
STREAM_EVENTS = [
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_standin_02","type":"message","role":"assistant",'
    b'"model":"claude-opus-4-5","content":[],"stop_reason":null,"stop_sequence":null,'
    b'"usage":{"input_tokens":31,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}\n\n',
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
    b'event: ping\ndata: {"type": "ping"}\n\n',
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Streamed "}}\n\n',
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"from the cloud \\u00e9"}}\n\n',
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":12}}\n\n',
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n',
]
ERRORS = {
    429: b'{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}',
    529: b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
}
COUNT_BODY = b'{"input_tokens":4242}'


class StandIn:
    """A stand-in Anthropic API over TLS, recording every request (path, headers, body)."""

    def __init__(self, certificate: Path, key: Path, port: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                standin.record(self, b"")
                self.answer(404, b'{"type":"error","error":{"type":"not_found_error","message":"Not found"}}')

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                standin.record(self, body)
                request = json.loads(body)
                text = json.dumps(request.get("messages", []))
                for status, error in ERRORS.items():
                    if f"[[standin:{status}]]" in text:
                        return self.answer(status, error, {"retry-after": "7", "x-should-retry": "true"})
                if self.path == "/v1/messages/count_tokens":
                    return self.answer(200, COUNT_BODY)
                if request.get("stream"):
                    return self.stream()
                self.answer(200, NONSTREAM_BODY)

            def common_headers(self) -> None:
                self.send_header("request-id", "req_standin_0123")
                self.send_header("anthropic-ratelimit-requests-remaining", "42")
                self.send_header("x-standin-internal", "not for clients")

            def answer(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.common_headers()
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def stream(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream; charset=utf-8")
                self.send_header("cache-control", "no-cache")
                self.send_header("transfer-encoding", "chunked")
                self.common_headers()
                self.end_headers()
                for event in STREAM_EVENTS:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="anthropic-standin", daemon=True)
        self.thread.start()

    def record(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        with self.lock:
            self.requests.append({
                "method": handler.command, "path": handler.path,
                "headers": [(name.lower(), value) for name, value in handler.headers.items()], "body": body,
            })

    def seen(self, marker: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.requests if marker.encode() in r["body"]]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def headers_named(request: dict[str, Any], name: str) -> list[str]:
    return [value for header, value in request["headers"] if header == name]


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A test CA and a server certificate it signs for 127.0.0.1 and localhost, made with openssl."""
    directory = tmp_path_factory.mktemp("test-ca")
    files = {name: directory / name for name in ("ca.pem", "ca.key", "server.pem", "server.key", "server.csr", "server.ext")}
    files["server.ext"].write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    commands = [
        ["openssl", "req", "-x509", *ec, "-keyout", files["ca.key"], "-out", files["ca.pem"], "-days", "2",
         "-subj", "/CN=spark-bridge e2e test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["openssl", "req", *ec, "-keyout", files["server.key"], "-out", files["server.csr"], "-subj", "/CN=127.0.0.1"],
        ["openssl", "x509", "-req", "-in", files["server.csr"], "-CA", files["ca.pem"], "-CAkey", files["ca.key"],
         "-CAcreateserial", "-out", files["server.pem"], "-days", "2", "-extfile", files["server.ext"]],
    ]
    for command in commands:
        subprocess.run([str(part) for part in command], check=True, capture_output=True, timeout=60)
    return files


@pytest.fixture(scope="module")
def standin(test_ca: dict[str, Path]) -> Iterator[StandIn]:
    server = StandIn(test_ca["server.pem"], test_ca["server.key"])
    yield server
    server.stop()


def cloud_config(standin_url: str, *, ca_file: Path | None, forward_client_key: bool = False, sim: Sim | None = None,
                 master_key: str | None = None, failures_before_down: int | None = None, sim_url: str | None = None,
                 router_settings: list[str] | None = None) -> str:
    """One alias on the stand-in (and one on vllm-sim when given), probes and warmups switched on and
    frequent, so that a probe or warmup of the Anthropic deployment would be seen."""
    q = json.dumps
    lines = ["model_list:"]
    if sim is not None or sim_url is not None:
        lines += [f"  - model_name: {q(ALIAS)}", "    litellm_params:",
                  f"      model: {q('openai/' + BACKEND_MODEL)}", f"      api_base: {q((sim_url or sim.url) + '/v1')}", "      api_key: none"]
    lines += [
        f"  - model_name: {q(CLOUD_ALIAS)}",
        "    litellm_params:",
        f"      model: {q('anthropic/' + UPSTREAM_MODEL)}",
        "      api_key: os.environ/STANDIN_ANTHROPIC_KEY",
        f"      api_base: {q(standin_url)}",
    ]
    if ca_file is not None:
        lines.append(f"      ca_file: {q(str(ca_file))}")
    if forward_client_key:
        lines.append("      forward_client_key: true")
    if master_key is not None:
        lines += ["general_settings:", f"  master_key: {q(master_key)}"]
    if router_settings:
        lines += ["router_settings:", *(f"  {line}" for line in router_settings)]
    lines += ["spark_bridge:", "  warmup:", "    enabled: true", "  health:", "    interval_seconds: 1", "    timeout_seconds: 1"]
    if failures_before_down is not None:
        lines.append(f"    failures_before_down: {failures_before_down}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def start_cloud_bridge(bin_dir: Path, workdir: Path) -> Iterator[Any]:
    processes: list[Process] = []

    def start(name: str, config: str, sim: Sim | None = None) -> Bridge:
        path = workdir / f"{name}.yaml"
        path.write_text(config)
        process = Process(name, [str(bin_dir / "spark-bridge"), "--config", str(path), "--listen", "127.0.0.1:0"], workdir,
                          env={"STANDIN_ANTHROPIC_KEY": DEPLOYMENT_KEY})
        processes.append(process)
        return Bridge(process, config, sim)

    yield start
    for process in processes:
        process.stop()


@pytest.fixture(scope="module")
def local_sim(start_sim: Any) -> Sim:
    """The vLLM half of the mixed config: its own simulator, since this bridge probes and warms it often."""
    return start_sim("vllm-sim-cloud-mix")


@pytest.fixture(scope="module")
def cloud_bridge(start_cloud_bridge: Any, standin: StandIn, test_ca: dict[str, Path], local_sim: Sim) -> Bridge:
    return start_cloud_bridge("spark-bridge-cloud", cloud_config(standin.url, ca_file=test_ca["ca.pem"], sim=local_sim), local_sim)


def ask(marker: str, **options: Any) -> dict[str, Any]:
    return {"model": CLIENT_MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": f"hello {marker}"}], **options}


def log_line(bridge: Bridge, marker_model: str = CLIENT_MODEL, status: int = 200) -> str:
    """The bridge's last request log line for the cloud alias with `status`."""
    def find() -> str | None:
        lines = [line for line in bridge.process.stderr_tail(400).splitlines() if marker_model in line and f"status={status}" in line]
        return lines[-1] if lines else None
    line = wait_until(find, timeout=10)
    assert line, f"no request log line for {marker_model} with status={status}"
    return line


def test_a_non_streamed_answer_is_relayed_byte_for_byte_with_the_headers_that_matter(cloud_bridge: Bridge, standin: StandIn, marker: str) -> None:
    client = cloud_bridge.anthropic(api_key=CLIENT_KEY)
    raw = client.messages.with_raw_response.create(**ask(marker, stop_sequences=["END"]), extra_headers={"anthropic-beta": BETA})
    assert raw.http_response.status_code == 200
    assert raw.http_response.content == NONSTREAM_BODY
    assert raw.parse().content[0].text == "Hello from the cloud \u00e9"
    assert raw.http_response.headers["request-id"] == "req_standin_0123"
    assert raw.http_response.headers["anthropic-ratelimit-requests-remaining"] == "42"
    assert "x-standin-internal" not in raw.http_response.headers

    [seen] = standin.seen(marker)
    assert (seen["method"], seen["path"]) == ("POST", "/v1/messages")
    sent = json.loads(seen["body"])
    assert sent["model"] == UPSTREAM_MODEL
    assert {k: v for k, v in sent.items() if k != "model"} == {k: v for k, v in ask(marker, stop_sequences=["END"]).items() if k != "model"}
    assert headers_named(seen, "anthropic-version") == [raw.http_response.request.headers["anthropic-version"]]
    assert headers_named(seen, "anthropic-beta") == [BETA]
    assert headers_named(seen, "x-api-key") == [DEPLOYMENT_KEY]
    assert headers_named(seen, "authorization") == []
    assert not any(CLIENT_KEY in value for _, value in seen["headers"])
    # The client's own headers cross as sent (Claude Code's user-agent, x-app, x-stainless-*…).
    sdk_headers = raw.http_response.request.headers
    assert headers_named(seen, "user-agent") == [sdk_headers["user-agent"]]
    assert headers_named(seen, "x-stainless-lang") == [sdk_headers["x-stainless-lang"]]
    assert headers_named(seen, "accept-encoding") == []

    line = log_line(cloud_bridge)
    assert "tokens_in=24 tokens_out=9" in line  # input 21 + cache read 3, from the relayed usage


def test_a_stream_is_relayed_byte_for_byte_and_its_usage_logged(cloud_bridge: Bridge, standin: StandIn, marker: str) -> None:
    client = cloud_bridge.anthropic(api_key=CLIENT_KEY)
    with client.messages.with_streaming_response.create(**ask(marker, stream=True)) as response:
        assert response.http_response.headers["content-type"].startswith("text/event-stream")
        assert response.http_response.headers["request-id"] == "req_standin_0123"
        relayed = b"".join(response.http_response.iter_bytes())
    assert relayed == b"".join(STREAM_EVENTS)

    with client.messages.stream(**ask(marker + "-sdk")) as stream:
        assert stream.get_final_text() == "Streamed from the cloud \u00e9"
    for seen in standin.seen(marker):
        assert headers_named(seen, "x-api-key") == [DEPLOYMENT_KEY]
        assert json.loads(seen["body"])["stream"] is True
    assert len(standin.seen(marker)) == 2
    assert "tokens_in=31 tokens_out=12" in log_line(cloud_bridge)


def test_count_tokens_is_relayed_to_the_api(cloud_bridge: Bridge, standin: StandIn, marker: str) -> None:
    counted = cloud_bridge.anthropic().messages.count_tokens(model=CLIENT_MODEL, messages=[{"role": "user", "content": f"count {marker}"}])
    assert counted.input_tokens == 4242
    [seen] = standin.seen(marker)
    assert seen["path"] == "/v1/messages/count_tokens"
    assert json.loads(seen["body"])["model"] == UPSTREAM_MODEL


@pytest.mark.parametrize("status", [429, 529])
def test_an_api_error_is_relayed_as_is(cloud_bridge: Bridge, standin: StandIn, marker: str, status: int) -> None:
    client = cloud_bridge.anthropic()
    with pytest.raises(anthropic.APIStatusError) as caught:
        client.messages.create(**ask(f"{marker} [[standin:{status}]]"))
    response = caught.value.response
    assert response.status_code == status
    assert response.content == ERRORS[status]
    assert response.headers["retry-after"] == "7"
    assert response.headers["x-should-retry"] == "true"
    assert response.headers["request-id"] == "req_standin_0123"
    assert len(standin.seen(marker)) == 1


def test_the_client_key_is_forwarded_only_with_forward_client_key(start_cloud_bridge: Any, standin: StandIn, test_ca: dict[str, Path], marker: str) -> None:
    bridge = start_cloud_bridge("spark-bridge-cloud-forward", cloud_config(standin.url, ca_file=test_ca["ca.pem"], forward_client_key=True))
    bridge.anthropic(api_key=CLIENT_KEY).messages.create(**ask(marker))
    [seen] = standin.seen(marker)
    # The SDK sends its key as `Authorization: Bearer`; it goes out as sent, in place of the deployment's.
    assert headers_named(seen, "authorization") == [f"Bearer {CLIENT_KEY}"]
    assert headers_named(seen, "x-api-key") == []
    assert not any(DEPLOYMENT_KEY in value for _, value in seen["headers"])


def test_the_bridge_master_key_is_checked_before_anything_is_relayed(start_cloud_bridge: Any, standin: StandIn, test_ca: dict[str, Path], marker: str) -> None:
    bridge = start_cloud_bridge("spark-bridge-cloud-master", cloud_config(standin.url, ca_file=test_ca["ca.pem"], master_key="sk-bridge-master"))
    with pytest.raises(anthropic.AuthenticationError):
        bridge.anthropic(api_key=CLIENT_KEY).messages.create(**ask(marker))
    assert standin.seen(marker) == []
    bridge.anthropic(api_key="sk-bridge-master").messages.create(**ask(marker + "-ok"))
    [seen] = standin.seen(marker + "-ok")
    assert headers_named(seen, "x-api-key") == [DEPLOYMENT_KEY]


def test_the_bridge_master_key_is_never_forwarded_with_the_client_key(start_cloud_bridge: Any, standin: StandIn, test_ca: dict[str, Path], marker: str) -> None:
    config = cloud_config(standin.url, ca_file=test_ca["ca.pem"], forward_client_key=True, master_key="sk-bridge-master")
    bridge = start_cloud_bridge("spark-bridge-cloud-forward-master", config)
    # The SDK sends the bridge's key as `Authorization: Bearer`; the user's own API key rides in x-api-key.
    bridge.anthropic(api_key="sk-bridge-master").messages.create(**ask(marker), extra_headers={"x-api-key": CLIENT_KEY})
    [seen] = standin.seen(marker)
    assert headers_named(seen, "x-api-key") == [CLIENT_KEY]
    assert headers_named(seen, "authorization") == []
    assert not any("sk-bridge-master" in value for _, value in seen["headers"])


def test_an_untrusted_certificate_is_a_clean_error_naming_the_cause(start_cloud_bridge: Any, standin: StandIn, marker: str) -> None:
    bridge = start_cloud_bridge("spark-bridge-cloud-untrusted", cloud_config(standin.url, ca_file=None))
    with pytest.raises(anthropic.APIStatusError) as caught:
        bridge.anthropic().messages.create(**ask(marker))
    assert caught.value.status_code == 502
    body = caught.value.response.json()
    assert body["type"] == "error" and body["error"]["type"] == "api_error"
    assert "certificate" in body["error"]["message"].lower()
    assert standin.seen(marker) == []
    assert wait_until(lambda: "certificate" in bridge.process.stderr_tail(200).lower(), timeout=10)


def test_vllm_never_gets_anthropic_headers_and_the_api_is_never_probed(cloud_bridge: Bridge, standin: StandIn, local_sim: Sim, marker: str) -> None:
    sim = local_sim
    client = cloud_bridge.anthropic(api_key=CLIENT_KEY)
    client.messages.create(model=ALIAS, max_tokens=16, messages=[{"role": "user", "content": f"local {marker}"}], extra_headers={"anthropic-beta": BETA})
    [local] = sim.requests(marker)
    names = {name.lower() for name in local["headers"]}
    assert not any(name.startswith("anthropic-") for name in names)
    assert "x-api-key" not in names
    assert standin.seen(marker) == []
    # Probes run every second and warmups are on: the vLLM backend got its checks, the API none.
    assert wait_until(lambda: len(sim.requests(path="/health")) >= 2, timeout=15)
    with standin.lock:
        assert all(r["method"] == "POST" and r["path"].startswith("/v1/messages") for r in standin.requests)
        assert all(b"ping" not in r["body"] for r in standin.requests)
    health = httpx.get(cloud_bridge.url + "/health", timeout=10).json()
    cloud = [b for b in health["backends"] if b["name"].startswith("127.0.0.1:") and b["name"] != sim.url.removeprefix("http://")]
    assert len(cloud) == 1


def test_the_openai_passthrough_refuses_an_anthropic_alias_in_openai_shape(cloud_bridge: Bridge, standin: StandIn, marker: str) -> None:
    response = httpx.post(cloud_bridge.url + "/v1/chat/completions", timeout=10,
                          json={"model": CLIENT_MODEL, "messages": [{"role": "user", "content": marker}]})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and "/v1/messages" in error["message"]
    assert standin.seen(marker) == []


def test_the_api_is_down_after_failed_connections_and_up_after_a_success_without_any_probe(start_cloud_bridge: Any, test_ca: dict[str, Path], marker: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"https://127.0.0.1:{port}"
    bridge = start_cloud_bridge("spark-bridge-cloud-health", cloud_config(url, ca_file=test_ca["ca.pem"], failures_before_down=2))

    def state() -> str:
        [backend] = httpx.get(bridge.url + "/health", timeout=10).json()["backends"]
        return backend["state"]

    assert state() == "unknown"  # never probed: unknown until requests tell
    client = bridge.anthropic()
    for attempt in range(2):
        with pytest.raises(anthropic.APIStatusError) as caught:
            client.messages.create(**ask(f"{marker}-{attempt}"))
        assert caught.value.status_code == 502
    assert state() == "down"

    revived = StandIn(test_ca["server.pem"], test_ca["server.key"], port=port)
    try:
        # Down, but the alias has nothing else: it is tried (panic mode), and the success brings it up.
        assert client.messages.create(**ask(marker)).content[0].text == "Hello from the cloud \u00e9"
        assert state() == "up"
        assert all(r["method"] == "POST" for r in revived.requests)
    finally:
        revived.stop()


def closed_loopback_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_overloaded_api_falls_back_to_the_gpu(start_cloud_bridge: Any, standin: StandIn, test_ca: dict[str, Path], local_sim: Sim, marker: str) -> None:
    """The seed's users keep Opus-class work in the cloud: when the API answers 529 (before any byte
    reached the client), LiteLLM's `fallbacks` send the request to the local alias, translated."""
    config = cloud_config(standin.url, ca_file=test_ca["ca.pem"], sim=local_sim,
                          router_settings=[f'fallbacks: [{{"{CLOUD_ALIAS}": ["{ALIAS}"]}}]'])
    bridge = start_cloud_bridge("spark-bridge-cloud-fallback", config, local_sim)
    message = bridge.anthropic().messages.create(**ask(f"{marker} [[standin:529]]"))
    assert message.type == "message" and message.content[0].type == "text"
    assert message.model == CLIENT_MODEL  # the answer names the model the client asked for
    assert len(standin.seen(marker)) == 1  # the API was asked once
    [seen_by_gpu] = local_sim.requests(marker)
    assert seen_by_gpu["body"]["model"] == BACKEND_MODEL  # translated to OpenAI for vLLM
    assert not any(name.lower().startswith("anthropic-") for name in seen_by_gpu["headers"])
    assert f"hops={CLIENT_MODEL}@{standin.url.removeprefix('https://')}:529>{ALIAS}@" in log_line(bridge)


def test_an_unreachable_gpu_falls_back_to_the_api(start_cloud_bridge: Any, standin: StandIn, test_ca: dict[str, Path], marker: str) -> None:
    """The other way round: the local alias's backend refuses the connection, and its fallback is the
    Anthropic API, which gets the client's body as sent (only `model` set)."""
    config = cloud_config(standin.url, ca_file=test_ca["ca.pem"], sim_url=f"http://127.0.0.1:{closed_loopback_port()}",
                          router_settings=[f'fallbacks: [{{"{ALIAS}": ["{CLOUD_ALIAS}"]}}]'])
    bridge = start_cloud_bridge("spark-bridge-gpu-fallback", config)
    request = {**ask(marker), "model": ALIAS}
    raw = bridge.anthropic().messages.with_raw_response.create(**request)
    assert raw.http_response.status_code == 200
    assert raw.http_response.content == NONSTREAM_BODY
    [seen] = standin.seen(marker)
    sent = json.loads(seen["body"])
    assert sent["model"] == UPSTREAM_MODEL
    assert {k: v for k, v in sent.items() if k != "model"} == {k: v for k, v in request.items() if k != "model"}
    assert headers_named(seen, "x-api-key") == [DEPLOYMENT_KEY]
    assert f"hops={ALIAS}@" in log_line(bridge, marker_model=ALIAS)
