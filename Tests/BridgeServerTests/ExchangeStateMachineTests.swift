// SPDX-License-Identifier: Apache-2.0
@testable import BridgeServer
import BridgeCore
import BridgeJSON
import BridgeUpstream
import Testing

/// Every transition of the request path, with no sockets: the events a connection and an upstream
/// call deliver, and the actions and record facts that come out.
@Suite("Exchange state machine")
struct ExchangeStateMachineTests {
    typealias Machine = ExchangeStateMachine
    typealias Action = ExchangeStateMachine.Action

    // MARK: Inputs

    static func translated(stream: Bool, maxTokens: Int = 1000, endpoint: AnthropicRequest.Endpoint = .messages) throws -> TranslatedRequest {
        var body: JSONObject = [
            "model": "claude-sonnet-4-5",
            "messages": [["role": "user", "content": "Say hi"]],
        ]
        if endpoint == .messages {
            body["max_tokens"] = .int(maxTokens)
            body["stream"] = .bool(stream)
        }
        return try MessagesRequestTranslation.translate(body: JSONValue.object(body).jsonBytes, endpoint: endpoint) { (_: String) throws(AnthropicError) in
            "Qwen/Qwen3-Coder"
        }.translated
    }

    static func machine(_ settings: Machine.Settings = .init(requestID: "req_test")) -> Machine {
        Machine(settings: settings)
    }

    /// A machine whose `/v1/messages` call is made and whose backend answered 200.
    static func streaming(_ settings: Machine.Settings = .init(requestID: "req_test")) throws -> Machine {
        var machine = Self.machine(settings)
        _ = machine.start(.messages(try translated(stream: true)))
        _ = machine.upstreamHead(status: 200, headers: [("content-type", "text/event-stream")])
        _ = machine.takeFacts()
        return machine
    }

    static func chunk(_ delta: String, finish: String? = nil, usage: String? = nil) -> String {
        let reason = finish.map { "\"\($0)\"" } ?? "null"
        let usageField = usage.map { ",\"usage\":\($0)" } ?? ""
        return #"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"Qwen/Qwen3-Coder","choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(reason)}]\#(usageField)}"# + "\n\n"
    }

    static let textBatch = Array((chunk(#"{"role":"assistant","content":""}"#) + chunk(#"{"content":"Hel"}"#) + chunk(#"{"content":"lo"}"#)).utf8)
    static let endBatch = Array((chunk("{}", finish: "stop", usage: #"{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}"#) + "data: [DONE]\n\n").utf8)

    static let completion = Array(#"{"id":"chatcmpl-2","object":"chat.completion","created":1,"model":"Qwen/Qwen3-Coder","choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}"#.utf8)

    static func contextOverflow(window: Int, prompt: Int, completion: Int) -> [UInt8] {
        let message = "This model's maximum context length is \(window) tokens. However, you requested \(prompt + completion) tokens (\(prompt) in the messages, \(completion) in the completion). Please reduce the length of the messages or completion."
        return JSONValue.object(["object": "error", "message": .string(message), "type": "BadRequestError", "code": 400]).jsonBytes
    }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    static func respondedAnswer(_ action: Action) -> Machine.WholeAnswer? {
        if case .respond(let answer, _) = action { return answer }
        return nil
    }

    // MARK: Start and refusal

    @Test("a start sends the translated body upstream, or the body already serialized for the budget")
    func startSendsBody() throws {
        let translated = try Self.translated(stream: false)
        var machine = Self.machine()
        #expect(machine.start(.messages(translated)) == .startUpstream(body: JSONValue.object(translated.body).jsonBytes))
        var second = Self.machine()
        #expect(second.start(.messages(translated), firstBody: [1, 2, 3]) == .startUpstream(body: [1, 2, 3]))
        var passthrough = Self.machine()
        #expect(passthrough.start(.passthrough, firstBody: [7]) == .startUpstream(body: [7]))
    }

    @Test("a refused request gets its API's error shape and is failed in the record")
    func refusals() {
        var anthropic = Self.machine()
        let error = AnthropicError(.notFound, "no such model")
        let action = anthropic.refuse(.anthropic(error))
        #expect(action == .respond(.init(status: 404, body: error.body(requestID: "req_test")), cancelUpstream: false))
        #expect(anthropic.takeFacts() == [.failed(error.description)])
        #expect(anthropic.isFinished)

        var openAI = Self.machine()
        let refused = openAI.refuse(.openAI(status: 404, message: "unknown", type: "invalid_request_error", code: "model_not_found"))
        #expect(Self.respondedAnswer(refused)?.status == 404)
        #expect(Self.respondedAnswer(refused)?.body["error"]?["code"] == "model_not_found")
        #expect(openAI.takeFacts() == [.failed("invalid_request_error: unknown")])
    }

    // MARK: Whole answers

    @Test("a whole 200 answer is translated at its end and traced")
    func wholeAnswer() throws {
        var machine = Self.machine()
        _ = machine.start(.messages(try Self.translated(stream: false)))
        #expect(machine.upstreamHead(status: 200, headers: [("content-type", "application/json")]) == .none)
        #expect(machine.upstreamBody(Array(Self.completion.prefix(40))) == .none)
        #expect(machine.upstreamBody(Array(Self.completion.dropFirst(40))) == .none)
        let action = machine.upstreamEnd(.success(()))
        let answer = try #require(Self.respondedAnswer(action))
        #expect(answer.status == 200 && answer.traced)
        #expect(answer.body["content"]?.arrayValue?.first?["text"] == "Hello")
        let facts = machine.takeFacts()
        #expect(facts.contains(.calibration(promptTokens: 9)) && facts.contains(.firstToken))
        #expect(machine.isFinished)
    }

    @Test("an answer past the collected-bytes bound cancels the upstream and answers an api_error")
    func collectedBound() throws {
        var machine = Self.machine(.init(requestID: "req_test", maximumCollectedBytes: 10))
        _ = machine.start(.messages(try Self.translated(stream: false)))
        _ = machine.upstreamHead(status: 200, headers: [])
        #expect(machine.upstreamBody(Array(repeating: 32, count: 10)) == .none)
        let action = machine.upstreamBody([32])
        guard case .respond(let answer, cancelUpstream: true) = action else {
            Issue.record("expected an error answer that cancels the upstream, got \(action)")
            return
        }
        #expect(answer.status == 500)
        #expect(machine.upstreamEnd(.failure(.cancelled)) == .none)
    }

    @Test("a backend error status is mapped to Anthropic's error and counted")
    func errorStatus() throws {
        var machine = Self.machine()
        _ = machine.start(.messages(try Self.translated(stream: true)))
        #expect(machine.upstreamHead(status: 503, headers: []) == .none)
        _ = machine.upstreamBody(Array(#"{"object":"error","message":"busy"}"#.utf8))
        let answer = try #require(Self.respondedAnswer(machine.upstreamEnd(.success(()))))
        #expect(answer.status == 529)
        #expect(machine.takeFacts().contains(.upstreamError(kind: "http_5xx")))
    }

    // MARK: The max_tokens retry

    @Test("a refusal naming the room that fits gets exactly one retry with that max_tokens")
    func retryOnce() throws {
        var machine = Self.machine()
        _ = machine.start(.messages(try Self.translated(stream: false, maxTokens: 1000)))
        _ = machine.upstreamHead(status: 400, headers: [])
        _ = machine.upstreamBody(Self.contextOverflow(window: 2048, prompt: 1500, completion: 1000))
        let retry = machine.upstreamEnd(.success(()))
        guard case .startUpstream(let body) = retry else {
            Issue.record("expected a retry, got \(retry)")
            return
        }
        #expect(try JSONParser.parse(body)["max_tokens"] == .int(548))
        #expect(machine.takeFacts().contains(.addedNote("max_tokens lowered from 1000 to 548 to fit the context")))
        #expect(machine.streams == false)

        // The retry is refused too: no third call, the error goes to the client.
        _ = machine.upstreamHead(status: 400, headers: [])
        _ = machine.upstreamBody(Self.contextOverflow(window: 2048, prompt: 1600, completion: 548))
        let answer = try #require(Self.respondedAnswer(machine.upstreamEnd(.success(()))))
        #expect(answer.status == 400)
        #expect(machine.isFinished)
    }

    @Test("no retry when retry_on_context_overflow is off, or when the prompt alone does not fit")
    func noRetry() throws {
        var off = Self.machine(.init(requestID: "req_test", retriesContextOverflow: false))
        _ = off.start(.messages(try Self.translated(stream: false)))
        _ = off.upstreamHead(status: 400, headers: [])
        _ = off.upstreamBody(Self.contextOverflow(window: 2048, prompt: 1500, completion: 1000))
        #expect(Self.respondedAnswer(off.upstreamEnd(.success(())))?.status == 400)

        var tooLong = Self.machine()
        _ = tooLong.start(.messages(try Self.translated(stream: false)))
        _ = tooLong.upstreamHead(status: 400, headers: [])
        _ = tooLong.upstreamBody(Self.contextOverflow(window: 2048, prompt: 3000, completion: 1000))
        #expect(Self.respondedAnswer(tooLong.upstreamEnd(.success(())))?.status == 400)
    }

    // MARK: Streams

    @Test("a 200 stream opens with SSE headers and arms the keep-alive when it is configured")
    func streamHead() throws {
        var machine = Self.machine()
        _ = machine.start(.messages(try Self.translated(stream: true)))
        #expect(machine.streams)
        #expect(machine.upstreamHead(status: 200, headers: []) == .writeHead(status: 200, headers: Machine.streamHeaders, stream: true, armKeepalive: true))
        var quiet = Self.machine(.init(requestID: "req_test", keepalive: false))
        _ = quiet.start(.messages(try Self.translated(stream: true)))
        #expect(quiet.upstreamHead(status: 200, headers: []) == .writeHead(status: 200, headers: Machine.streamHeaders, stream: true, armKeepalive: false))
    }

    @Test("each delivered batch becomes one write, whatever the number of events in it")
    func oneWritePerBatch() throws {
        var machine = try Self.streaming()
        let action = machine.upstreamBody(Self.textBatch)
        guard case .write(let bytes) = action else {
            Issue.record("expected one write, got \(action)")
            return
        }
        let text = Self.text(bytes)
        #expect(text.hasPrefix("event: message_start"))
        #expect(text.ranges(of: "event: content_block_delta").count == 2)
        #expect(machine.takeFacts() == [.firstToken, .streamedTokens(2)])
        let end = machine.upstreamBody(Self.endBatch)
        guard case .endAnswer(let last, cancelUpstream: false) = end else {
            Issue.record("expected the end of the answer, got \(end)")
            return
        }
        #expect(Self.text(last).contains("event: message_stop"))
        #expect(machine.isFinished)
        // The transport's end after [DONE] changes nothing.
        #expect(machine.upstreamEnd(.success(())) == .none)
    }

    @Test("a finished stream without [DONE] is closed by the end of the upstream; a truncated one gets an error event")
    func streamEndsAtUpstreamEnd() throws {
        var finished = try Self.streaming()
        _ = finished.upstreamBody(Self.textBatch)
        _ = finished.upstreamBody(Array(Self.chunk("{}", finish: "stop", usage: #"{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}"#).utf8))
        guard case .endAnswer(let last, cancelUpstream: false) = finished.upstreamEnd(.success(())) else {
            Issue.record("expected the end of the answer")
            return
        }
        #expect(Self.text(last).contains("event: message_stop"))

        var truncated = try Self.streaming()
        _ = truncated.upstreamBody(Self.textBatch)
        guard case .endAnswer(let error, _) = truncated.upstreamEnd(.success(())) else {
            Issue.record("expected the end of the answer")
            return
        }
        #expect(Self.text(error).contains("event: error"))
        #expect(truncated.takeFacts().contains(.endedWithErrorEvent))
    }

    @Test("an upstream error after the head ends the stream with an error event")
    func upstreamErrorAfterHead() throws {
        var machine = try Self.streaming()
        _ = machine.upstreamBody(Self.textBatch)
        _ = machine.takeFacts()
        guard case .endAnswer(let last, _) = machine.upstreamEnd(.failure(.idleTimeout)) else {
            Issue.record("expected the end of the answer")
            return
        }
        #expect(Self.text(last).contains("event: error"))
        let facts = machine.takeFacts()
        #expect(facts.contains(.upstreamError(kind: "idle_timeout")))
        #expect(facts.contains(.note("upstream: \(UpstreamError.idleTimeout)")))
        #expect(facts.contains(.endedWithErrorEvent))
    }

    @Test("an upstream error before the head is an HTTP error answer")
    func upstreamErrorBeforeHead() throws {
        var machine = Self.machine()
        _ = machine.start(.messages(try Self.translated(stream: true)))
        let answer = try #require(Self.respondedAnswer(machine.upstreamEnd(.failure(.connectFailed("refused")))))
        #expect(answer.body["type"] == "error")
        #expect(answer.status >= 500)
        #expect(machine.takeFacts().contains(.upstreamError(kind: "connect")))
    }

    @Test("an upstream that succeeds with no head at all is an api_error")
    func successWithoutHead() throws {
        var machine = Self.machine()
        _ = machine.start(.messages(try Self.translated(stream: false)))
        #expect(Self.respondedAnswer(machine.upstreamEnd(.success(())))?.status == 500)
    }

    @Test("a stream event past the decoder's bound ends the stream and cancels the upstream")
    func oversizedEvent() throws {
        var machine = try Self.streaming()
        let action = machine.upstreamBody(Array(repeating: UInt8(ascii: "a"), count: SSEDecoder.defaultMaximumEventLength + 1))
        guard case .endAnswer(let last, cancelUpstream: true) = action else {
            Issue.record("expected the end of the answer with the upstream cancelled, got a different action")
            return
        }
        #expect(Self.text(last).contains("event: error"))
    }

    @Test("a client that reads nothing for the paused-stream timeout is cut without an error event")
    func pausedStreamTimeout() throws {
        var machine = try Self.streaming()
        _ = machine.upstreamBody(Self.textBatch)
        _ = machine.takeFacts()
        #expect(machine.upstreamEnd(.failure(.consumerStalled)) == .abandon(cancelUpstream: false, closeConnection: true))
        #expect(machine.takeFacts() == [.note("cut: \(UpstreamError.consumerStalled)")])
    }

    @Test("the upstream's total timeout mid-stream ends the stream with an error event")
    func totalTimeout() throws {
        var machine = try Self.streaming()
        guard case .endAnswer(let last, _) = machine.upstreamEnd(.failure(.totalTimeout)) else {
            Issue.record("expected the end of the answer")
            return
        }
        #expect(Self.text(last).contains("event: error"))
        #expect(machine.takeFacts().contains(.upstreamError(kind: "total_timeout")))
    }

    // MARK: Cut, drain, cancel

    @Test("a cut mid-stream (deadline, drain) sends overloaded_error as an event and cancels the upstream")
    func cutMidStream() throws {
        var machine = try Self.streaming()
        _ = machine.upstreamBody(Self.textBatch)
        _ = machine.takeFacts()
        guard case .endAnswer(let last, cancelUpstream: true) = machine.cut(reason: "drain") else {
            Issue.record("expected the end of the answer with the upstream cancelled")
            return
        }
        #expect(Self.text(last).contains("overloaded_error"))
        let facts = machine.takeFacts()
        #expect(facts.first == .note("cut: drain"))
        // What the cancelled call still delivers changes nothing.
        #expect(machine.upstreamBody(Self.textBatch) == .none)
        #expect(machine.upstreamEnd(.failure(.cancelled)) == .none)
        #expect(machine.cut(reason: "again") == .none)
    }

    @Test("a cut before the head answers 529 with x-should-retry and cancels the upstream")
    func cutBeforeHead() throws {
        var machine = Self.machine()
        _ = machine.start(.messages(try Self.translated(stream: true)))
        guard case .respond(let answer, cancelUpstream: true) = machine.cut(reason: "no answer within 5 s") else {
            Issue.record("expected an answer that cancels the upstream")
            return
        }
        #expect(answer.status == 529)
        #expect(answer.headers == [.init(name: "x-should-retry", value: "true")])
        #expect(answer.body["error"]?["type"] == "overloaded_error")
        #expect(machine.takeFacts().first == .note("cut: no answer within 5 s"))
    }

    @Test("a cut while a whole answer is collected answers 529 too")
    func cutWhileCollecting() throws {
        var machine = Self.machine()
        _ = machine.start(.messages(try Self.translated(stream: false)))
        _ = machine.upstreamHead(status: 200, headers: [])
        _ = machine.upstreamBody([1])
        #expect(Self.respondedAnswer(machine.cut(reason: "shutdown"))?.status == 529)
    }

    @Test("a client gone mid-stream cancels the upstream; the call's own end then changes nothing")
    func clientGoneMidStream() throws {
        var machine = try Self.streaming()
        _ = machine.upstreamBody(Self.textBatch)
        _ = machine.takeFacts()
        #expect(machine.clientClosed() == .abandon(cancelUpstream: true, closeConnection: false))
        #expect(machine.takeFacts() == [.note("client disconnected")])
        #expect(machine.upstreamEnd(.failure(.cancelled)) == .none)
        #expect(machine.clientClosed() == .disarmKeepalive)
        #expect(machine.clientWritabilityChanged() == .none)
    }

    @Test("a client gone before the head cancels the upstream call")
    func clientGoneBeforeHead() throws {
        var machine = Self.machine()
        _ = machine.start(.messages(try Self.translated(stream: true)))
        #expect(machine.clientClosed() == .abandon(cancelUpstream: true, closeConnection: false))
        #expect(machine.upstreamHead(status: 200, headers: []) == .none)
    }

    @Test("an upstream cancelled by someone else (shutdown) abandons the answer")
    func cancelledUpstream() throws {
        var machine = try Self.streaming()
        #expect(machine.upstreamEnd(.failure(.cancelled)) == .abandon(cancelUpstream: false, closeConnection: false))
    }

    // MARK: Events out of place

    @Test("events out of place are ignored and leave the state as it was: bytes before the head, a second head, events after the end")
    func eventsOutOfPlace() throws {
        var machine = Self.machine()
        _ = machine.start(.messages(try Self.translated(stream: true)))
        #expect(machine.upstreamBody([1, 2]) == .none)
        #expect(machine.keepaliveTick(clientWritable: true) == .disarmKeepalive)
        #expect(machine.upstreamHead(status: 200, headers: []) == .writeHead(status: 200, headers: Machine.streamHeaders, stream: true, armKeepalive: true))
        #expect(machine.upstreamHead(status: 500, headers: []) == .none)
        #expect(machine.takeFacts().isEmpty)
        guard case .write = machine.upstreamBody(Self.textBatch) else {
            Issue.record("the stream should still be open")
            return
        }
        _ = machine.upstreamBody(Self.endBatch)
        #expect(machine.upstreamHead(status: 200, headers: []) == .none)
        #expect(machine.upstreamBody(Self.textBatch) == .none)
        #expect(machine.upstreamEnd(.failure(.idleTimeout)) == .none)
        #expect(machine.cut(reason: "late") == .none)
    }

    // MARK: Backpressure and keep-alive

    @Test("writability changes resume the upstream while it runs, and not after")
    func writability() throws {
        var machine = try Self.streaming()
        #expect(machine.clientWritabilityChanged() == .resumeUpstream)
        _ = machine.upstreamBody(Self.endBatch)
        #expect(machine.clientWritabilityChanged() == .none)
    }

    @Test("a silent stream whose client reads gets a ping at a tick; one with fresh events or a stalled client does not")
    func keepaliveTicks() throws {
        var machine = try Self.streaming()
        guard case .write(let ping) = machine.keepaliveTick(clientWritable: true) else {
            Issue.record("expected a ping")
            return
        }
        #expect(Self.text(ping).hasPrefix("event: ping\n"))
        #expect(machine.takeFacts() == [.keepalivePings(1)])
        _ = machine.upstreamBody(Self.textBatch)
        #expect(machine.keepaliveTick(clientWritable: true) == .none)
        #expect(machine.keepaliveTick(clientWritable: false) == .none)
        _ = machine.upstreamBody(Self.endBatch)
        #expect(machine.keepaliveTick(clientWritable: true) == .disarmKeepalive)
    }

    // MARK: count_tokens

    @Test("count_tokens answers the backend's count, or a labelled estimate when it cannot count")
    func countTokens() throws {
        let translated = try Self.translated(stream: false, endpoint: .countTokens)
        var counted = Self.machine()
        #expect(counted.start(.countTokens(translated)) == .startUpstream(body: translated.tokenizeBody.jsonBytes))
        _ = counted.upstreamHead(status: 200, headers: [])
        _ = counted.upstreamBody(Array(#"{"count":42,"max_model_len":32768,"tokens":[]}"#.utf8))
        #expect(counted.upstreamEnd(.success(())) == .respond(.init(status: 200, body: ["input_tokens": 42]), cancelUpstream: false))

        let estimate = max(1, translated.tokenizeBody.jsonBytes.count / 4)
        let estimated = Machine.WholeAnswer(status: 200, body: ["input_tokens": .int(estimate)], headers: [.init(name: "x-spark-bridge-token-count", value: "estimate")])
        var down = Self.machine()
        #expect(down.start(.countTokens(translated), backendUnavailable: "all backends down") == .respond(estimated, cancelUpstream: false))
        #expect(down.takeFacts().first == .note("token count estimated: all backends down"))

        var unreachable = Self.machine()
        _ = unreachable.start(.countTokens(translated))
        #expect(unreachable.upstreamEnd(.failure(.connectTimeout)) == .respond(estimated, cancelUpstream: false))

        var refused = Self.machine()
        _ = refused.start(.countTokens(translated))
        _ = refused.upstreamHead(status: 404, headers: [])
        #expect(refused.upstreamEnd(.success(())) == .respond(estimated, cancelUpstream: false))
    }

    // MARK: Passthrough

    @Test("the passthrough relays the head's content headers and every batch as it came")
    func passthroughRelays() {
        var machine = Self.machine()
        _ = machine.start(.passthrough, firstBody: [1])
        let head = machine.upstreamHead(status: 200, headers: [("Content-Type", "text/event-stream"), ("x-other", "1"), ("cache-control", "no-cache")])
        #expect(head == .writeHead(status: 200, headers: [.init(name: "Content-Type", value: "text/event-stream"), .init(name: "cache-control", value: "no-cache")], stream: true, armKeepalive: false))
        #expect(machine.upstreamBody([1, 2, 3]) == .write([1, 2, 3]))
        #expect(machine.takeFacts() == [.firstToken])
        #expect(machine.keepaliveTick(clientWritable: true) == .disarmKeepalive)
        #expect(machine.upstreamEnd(.success(())) == .endAnswer(last: [], cancelUpstream: false))
    }

    @Test("a passthrough error status is relayed as is and counted")
    func passthroughErrorStatus() {
        var machine = Self.machine()
        _ = machine.start(.passthrough, firstBody: [1])
        #expect(machine.upstreamHead(status: 500, headers: [("content-type", "application/json")]) == .writeHead(status: 500, headers: [.init(name: "content-type", value: "application/json")], stream: false, armKeepalive: false))
        #expect(machine.takeFacts() == [.note("backend HTTP 500"), .upstreamError(kind: "http_5xx")])
    }

    @Test("a passthrough upstream error is 503 before the head and a closed connection after it")
    func passthroughUpstreamErrors() {
        var before = Self.machine()
        _ = before.start(.passthrough, firstBody: [1])
        let answer = Self.respondedAnswer(before.upstreamEnd(.failure(.connectFailed("refused"))))
        #expect(answer?.status == 503 && answer?.body["error"]?["type"] == "server_error")

        var after = Self.machine()
        _ = after.start(.passthrough, firstBody: [1])
        _ = after.upstreamHead(status: 200, headers: [])
        #expect(after.upstreamEnd(.failure(.idleTimeout)) == .abandon(cancelUpstream: false, closeConnection: true))
    }

    @Test("a passthrough cut is 503 with x-should-retry before the head and a closed connection after it")
    func passthroughCut() {
        var before = Self.machine()
        _ = before.start(.passthrough, firstBody: [1])
        let answer = Self.respondedAnswer(before.cut(reason: "drain"))
        #expect(answer?.status == 503 && answer?.headers == [.init(name: "x-should-retry", value: "true")])

        var after = Self.machine()
        _ = after.start(.passthrough, firstBody: [1])
        _ = after.upstreamHead(status: 200, headers: [])
        #expect(after.cut(reason: "drain") == .abandon(cancelUpstream: true, closeConnection: true))
    }

    // MARK: Anthropic API relay

    static let relayedStream = Array((
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":12,\"cache_read_input_tokens\":4,\"output_tokens\":1}}}\n\n"
            + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n"
            + "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":7}}\n\n"
    ).utf8)

    @Test("a relayed Anthropic stream keeps the API's headers that matter, is written as it came, and logs its usage")
    func anthropicRelayStream() {
        var machine = Self.machine()
        #expect(machine.start(.anthropicRelay, firstBody: [1]) == .startUpstream(body: [1]))
        let head = machine.upstreamHead(status: 200, headers: [
            ("content-type", "text/event-stream; charset=utf-8"), ("request-id", "req_api"), ("anthropic-ratelimit-tokens-remaining", "9"),
            ("x-internal", "no"), ("set-cookie", "no"),
        ])
        #expect(head == .writeHead(status: 200, headers: [
            .init(name: "content-type", value: "text/event-stream; charset=utf-8"), .init(name: "request-id", value: "req_api"),
            .init(name: "anthropic-ratelimit-tokens-remaining", value: "9"),
        ], stream: true, armKeepalive: false))
        #expect(machine.takeFacts() == [.addedNote("Anthropic request-id req_api")])
        // Split mid-event: the bytes go out as they came; the usage is read across the split.
        #expect(machine.upstreamBody(Array(Self.relayedStream[..<50])) == .write(Array(Self.relayedStream[..<50])))
        #expect(machine.upstreamBody(Array(Self.relayedStream[50...])) == .write(Array(Self.relayedStream[50...])))
        #expect(machine.keepaliveTick(clientWritable: true) == .disarmKeepalive)
        _ = machine.takeFacts()
        #expect(machine.upstreamEnd(.success(())) == .endAnswer(last: [], cancelUpstream: false))
        #expect(machine.takeFacts() == [.usage(AnthropicUsage(inputTokens: 12, outputTokens: 7, cacheReadInputTokens: 4))])
    }

    @Test("a relayed Anthropic error is written as is and counted; its body is the API's")
    func anthropicRelayErrorStatus() {
        var machine = Self.machine()
        _ = machine.start(.anthropicRelay, firstBody: [1])
        let head = machine.upstreamHead(status: 429, headers: [("content-type", "application/json"), ("retry-after", "7"), ("request-id", "req_api")])
        #expect(head == .writeHead(status: 429, headers: [
            .init(name: "content-type", value: "application/json"), .init(name: "retry-after", value: "7"), .init(name: "request-id", value: "req_api"),
        ], stream: false, armKeepalive: false))
        #expect(machine.takeFacts() == [.note("Anthropic API HTTP 429"), .upstreamError(kind: "http_429"), .addedNote("Anthropic request-id req_api")])
        let body = Array(#"{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}"#.utf8)
        #expect(machine.upstreamBody(body) == .write(body))
        _ = machine.takeFacts()
        #expect(machine.upstreamEnd(.success(())) == .endAnswer(last: [], cancelUpstream: false))
        #expect(machine.takeFacts() == [.usage(nil)])
    }

    @Test("a relay that cannot reach the API (a certificate refused) is an Anthropic-shaped 502 naming the cause")
    func anthropicRelayUnreachable() {
        var machine = Self.machine()
        _ = machine.start(.anthropicRelay, firstBody: [1])
        let error = UpstreamError.transport(code: 60, message: "SSL certificate problem: unable to get local issuer certificate")
        let answer = Self.respondedAnswer(machine.upstreamEnd(.failure(error)))
        #expect(answer?.status == 502)
        #expect(answer?.body["type"] == "error" && answer?.body["error"]?["type"] == "api_error")
        #expect(answer?.body["error"]?["message"]?.stringValue?.contains("SSL certificate problem") == true)
        let facts = machine.takeFacts()
        #expect(facts.contains(.warning("the Anthropic API could not be reached: \(error)")))
        #expect(facts.contains(.upstreamError(kind: error.metricKind)))
    }

    @Test("a relay cut is an Anthropic 529 with x-should-retry before the head and a closed connection after it; a stalled client is cut")
    func anthropicRelayCut() {
        var before = Self.machine()
        _ = before.start(.anthropicRelay, firstBody: [1])
        let answer = Self.respondedAnswer(before.cut(reason: "drain"))
        #expect(answer?.status == 529 && answer?.body["error"]?["type"] == "overloaded_error")
        #expect(answer?.headers == [.init(name: "x-should-retry", value: "true")])

        var after = Self.machine()
        _ = after.start(.anthropicRelay, firstBody: [1])
        _ = after.upstreamHead(status: 200, headers: [("content-type", "text/event-stream")])
        #expect(after.clientWritabilityChanged() == .resumeUpstream)
        #expect(after.cut(reason: "drain") == .abandon(cancelUpstream: true, closeConnection: true))

        var stalled = Self.machine()
        _ = stalled.start(.anthropicRelay, firstBody: [1])
        _ = stalled.upstreamHead(status: 200, headers: [("content-type", "text/event-stream")])
        #expect(stalled.upstreamEnd(.failure(.consumerStalled)) == .abandon(cancelUpstream: false, closeConnection: true))

        var gone = Self.machine()
        _ = gone.start(.anthropicRelay, firstBody: [1])
        _ = gone.upstreamHead(status: 200, headers: [("content-type", "text/event-stream")])
        #expect(gone.clientClosed() == .abandon(cancelUpstream: true, closeConnection: false))
    }
}
