// SPDX-License-Identifier: Apache-2.0
@testable import BridgeServer
import BridgeCore
import BridgeJSON
import BridgeUpstream
import Testing

/// The transitions for retries and fallbacks: a call that fails before the client saw a byte ends in
/// `upstreamFailed` while they are configured, and the glue answers with `tryAgain` or `giveUp`.
extension ExchangeStateMachineTests {
    static let triesAgain = Machine.Settings(requestID: "req_test", triesAgain: true)

    @Test("with retries configured, a refused connection before the head asks the glue, and tryAgain calls again")
    func unreachableTriesAgain() throws {
        var machine = Self.machine(Self.triesAgain)
        _ = machine.start(.messages(try Self.translated(stream: true)))
        #expect(machine.upstreamEnd(.failure(.connectFailed("refused"))) == .upstreamFailed(.transient, hop: "connect"))
        #expect(machine.takeFacts().contains(.upstreamError(kind: "connect")))
        #expect(!machine.isFinished)
        let again = machine.tryAgain(.messages(try Self.translated(stream: true, maxTokens: 500)))
        guard case .startUpstream(let body) = again else {
            Issue.record("expected another call, got \(again)")
            return
        }
        #expect(try JSONParser.parse(body)["max_tokens"] == .int(500))
        // The second call answers: the stream goes to the client as usual.
        #expect(machine.upstreamHead(status: 200, headers: []) == .writeHead(status: 200, headers: Machine.streamHeaders, stream: true, armKeepalive: true))
    }

    @Test("given up, an unreachable backend is the same error answer as without retries")
    func unreachableGivesUp() throws {
        var machine = Self.machine(Self.triesAgain)
        _ = machine.start(.messages(try Self.translated(stream: true)))
        _ = machine.upstreamEnd(.failure(.firstByteTimeout))
        let answer = try #require(Self.respondedAnswer(machine.giveUp()))
        #expect(answer.status >= 500)
        #expect(machine.isFinished)
        #expect(machine.giveUp() == .none)
    }

    @Test("429, 500, 502, 503 and 504 are transient; a 400 context-length refusal is a context-window failure")
    func errorStatusesTryAgain() throws {
        for status in [429, 500, 502, 503, 504] {
            var machine = Self.machine(Self.triesAgain)
            _ = machine.start(.messages(try Self.translated(stream: true)))
            #expect(machine.upstreamHead(status: status, headers: []) == .none)
            _ = machine.upstreamBody(Array(#"{"object":"error","message":"busy"}"#.utf8))
            #expect(machine.upstreamEnd(.success(())) == .upstreamFailed(.transient, hop: String(status)))
            // Given up: the status mapped as before.
            #expect(Self.respondedAnswer(machine.giveUp())?.status == Self.respondedAnswer(Self.mapped(status))?.status)
        }
        var tooLong = Self.machine(Self.triesAgain)
        _ = tooLong.start(.messages(try Self.translated(stream: false)))
        _ = tooLong.upstreamHead(status: 400, headers: [])
        _ = tooLong.upstreamBody(Self.contextOverflow(window: 2048, prompt: 3000, completion: 1000))
        #expect(tooLong.upstreamEnd(.success(())) == .upstreamFailed(.contextWindow, hop: "400"))
        #expect(Self.respondedAnswer(tooLong.giveUp())?.status == 400)
    }

    /// The answer a machine without retries gives to `status`.
    static func mapped(_ status: Int) -> Action {
        var machine = Self.machine()
        _ = machine.start(.messages(try! Self.translated(stream: true)))
        _ = machine.upstreamHead(status: status, headers: [])
        _ = machine.upstreamBody(Array(#"{"object":"error","message":"busy"}"#.utf8))
        return machine.upstreamEnd(.success(()))
    }

    @Test("the max_tokens retry has its say first: a refusal with room that fits is retried on the same deployment")
    func maxTokensRetryFirst() throws {
        var machine = Self.machine(Self.triesAgain)
        _ = machine.start(.messages(try Self.translated(stream: false, maxTokens: 1000)))
        _ = machine.upstreamHead(status: 400, headers: [])
        _ = machine.upstreamBody(Self.contextOverflow(window: 2048, prompt: 1500, completion: 1000))
        guard case .startUpstream = machine.upstreamEnd(.success(())) else {
            Issue.record("expected the max_tokens retry")
            return
        }
        // Refused again, the prompt having grown past the window: now it is the context window's turn.
        _ = machine.upstreamHead(status: 400, headers: [])
        _ = machine.upstreamBody(Self.contextOverflow(window: 2048, prompt: 2100, completion: 548))
        #expect(machine.upstreamEnd(.success(())) == .upstreamFailed(.contextWindow, hop: "400"))
    }

    @Test("client errors (400 other than context length, 401, 404, 422) are relayed, never tried again")
    func clientErrorsRelayed() throws {
        for status in [400, 401, 404, 422] {
            var machine = Self.machine(Self.triesAgain)
            _ = machine.start(.messages(try Self.translated(stream: false)))
            _ = machine.upstreamHead(status: status, headers: [])
            _ = machine.upstreamBody(Array(#"{"object":"error","message":"no"}"#.utf8))
            #expect(Self.respondedAnswer(machine.upstreamEnd(.success(()))) != nil, "\(status)")
            #expect(machine.isFinished)
        }
    }

    @Test("once an answer event went out (message_start), a failure is an error event, never another call")
    func noRetryAfterTheAnswerBegan() throws {
        var machine = try Self.streaming(Self.triesAgain)
        guard case .write(let started) = machine.upstreamBody(Self.textBatch) else {
            Issue.record("expected the first events")
            return
        }
        #expect(Self.text(started).contains("event: message_start"))
        guard case .endAnswer(let last, _) = machine.upstreamEnd(.failure(.transport(code: 18, message: "Transferred a partial file"))) else {
            Issue.record("expected the end of the stream")
            return
        }
        #expect(Self.text(last).contains("event: error"))
        #expect(machine.tryAgain(.messages(try Self.translated(stream: true))) == .none)
    }

    @Test("the total timeout is never retried: the request's time is spent")
    func totalTimeoutNotRetried() throws {
        var machine = Self.machine(Self.triesAgain)
        _ = machine.start(.messages(try Self.translated(stream: false)))
        #expect(Self.respondedAnswer(machine.upstreamEnd(.failure(.totalTimeout))) != nil)
    }

    @Test("the passthrough holds a retryable error back, relays it whole when given up, and relays other statuses at once")
    func passthroughTriesAgain() throws {
        var machine = Self.machine(Self.triesAgain)
        _ = machine.start(.passthrough, firstBody: Array("{}".utf8))
        #expect(machine.upstreamHead(status: 503, headers: [("Content-Type", "application/json")]) == .none)
        _ = machine.upstreamBody(Array("{\"error\":1}".utf8))
        #expect(machine.upstreamEnd(.success(())) == .upstreamFailed(.transient, hop: "503"))
        #expect(machine.giveUp() == .relayWhole(status: 503, headers: [.init(name: "Content-Type", value: "application/json")], body: Array("{\"error\":1}".utf8)))

        var retried = Self.machine(Self.triesAgain)
        _ = retried.start(.passthrough, firstBody: Array("{}".utf8))
        _ = retried.upstreamHead(status: 429, headers: [])
        _ = retried.upstreamEnd(.success(()))
        #expect(retried.tryAgain(.passthrough, firstBody: Array("{\"model\":\"b\"}".utf8)) == .startUpstream(body: Array("{\"model\":\"b\"}".utf8)))

        var notFound = Self.machine(Self.triesAgain)
        _ = notFound.start(.passthrough, firstBody: Array("{}".utf8))
        guard case .writeHead(404, _, false, false) = notFound.upstreamHead(status: 404, headers: []) else {
            Issue.record("a 404 is relayed at once")
            return
        }
    }

    @Test("without retries configured nothing changes: failures are answered at once")
    func withoutRetries() throws {
        var machine = Self.machine()
        _ = machine.start(.passthrough, firstBody: Array("{}".utf8))
        guard case .writeHead(503, _, false, false) = machine.upstreamHead(status: 503, headers: []) else {
            Issue.record("a 503 is relayed at once")
            return
        }
    }

    @Test("count_tokens tries again on a transient failure and estimates when given up")
    func countTokensTriesAgain() throws {
        var machine = Self.machine(Self.triesAgain)
        _ = machine.start(.countTokens(try Self.translated(stream: false, endpoint: .countTokens)))
        #expect(machine.upstreamEnd(.failure(.connectFailed("refused"))) == .upstreamFailed(.transient, hop: "connect"))
        let answer = try #require(Self.respondedAnswer(machine.giveUp()))
        #expect(answer.headers.contains(.init(name: "x-spark-bridge-token-count", value: "estimate")))
    }

    @Test("a client gone or a cut while the glue decides ends the exchange")
    func goneWhileDeciding() throws {
        var machine = Self.machine(Self.triesAgain)
        _ = machine.start(.messages(try Self.translated(stream: false)))
        _ = machine.upstreamEnd(.failure(.connectFailed("refused")))
        #expect(machine.clientClosed() == .abandon(cancelUpstream: true, closeConnection: false))
        #expect(machine.tryAgain(.messages(try Self.translated(stream: false))) == .none)

        var cut = Self.machine(Self.triesAgain)
        _ = cut.start(.messages(try Self.translated(stream: false)))
        _ = cut.upstreamEnd(.failure(.connectFailed("refused")))
        #expect(Self.respondedAnswer(cut.cut(reason: "drain"))?.status == 529)
    }

    // MARK: Behind the stream's head

    /// A streamed request to a backend that answered 200 (the head is out), pinged once, then failed
    /// before its first chunk: the glue is asked to try again.
    static func failedBehindTheHead(_ error: UpstreamError = .transport(code: 18, message: "Transferred a partial file")) throws -> Machine {
        var machine = try Self.streaming(Self.triesAgain)
        guard case .write = machine.keepaliveTick(clientWritable: true) else { preconditionFailure("a silent stream is pinged") }
        #expect(machine.upstreamEnd(.failure(error)) == .upstreamFailed(.transient, hop: error.metricKind ?? "error"))
        return machine
    }

    @Test("a call that fails behind the head and pings, before message_start, is made again without a second head, and its stream continues the client's")
    func failureBehindTheHeadTriesAgain() throws {
        var machine = try Self.failedBehindTheHead()
        #expect(machine.takeFacts().contains(.upstreamError(kind: "transport")))
        #expect(!machine.isFinished)
        // Pings go on while the glue decides and the new call is waited for.
        guard case .write(let ping) = machine.keepaliveTick(clientWritable: true) else {
            Issue.record("expected a ping while deciding")
            return
        }
        #expect(Self.text(ping) == "event: ping\ndata: {\"type\":\"ping\"}\n\n")
        guard case .startUpstream = machine.tryAgain(.messages(try Self.translated(stream: true))) else {
            Issue.record("expected another call")
            return
        }
        guard case .write = machine.keepaliveTick(clientWritable: true) else {
            Issue.record("expected a ping while the new call prefills")
            return
        }
        // The new call's 200: no second head; its events are the stream's from message_start on.
        #expect(machine.upstreamHead(status: 200, headers: [("content-type", "text/event-stream")]) == .none)
        guard case .write(let first) = machine.upstreamBody(Self.textBatch) else {
            Issue.record("expected the new call's events")
            return
        }
        #expect(Self.text(first).hasPrefix("event: message_start"))
        guard case .endAnswer(let last, false) = machine.upstreamBody(Self.endBatch) else {
            Issue.record("expected the end of the stream")
            return
        }
        #expect(!Self.text(last).contains("event: error"))
        #expect(machine.upstreamEnd(.success(())) == .none)
        #expect(machine.isFinished)
    }

    @Test("the new call's events close the stream cleanly: message_stop, no error")
    func newCallFinishesTheStream() throws {
        var machine = try Self.failedBehindTheHead(.idleTimeout)
        _ = machine.tryAgain(.messages(try Self.translated(stream: true)))
        _ = machine.upstreamHead(status: 200, headers: [])
        guard case .write(let first) = machine.upstreamBody(Self.textBatch), case .endAnswer(let last, false) = machine.upstreamBody(Self.endBatch) else {
            Issue.record("expected the whole answer")
            return
        }
        let stream = Self.text(first + last)
        #expect(stream.split(separator: "\n").filter { $0 == "event: message_start" }.count == 1)
        #expect(stream.hasSuffix("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
        #expect(!stream.contains("event: error"))
    }

    @Test("a backend that closes its stream cleanly before any event is tried again too")
    func cleanCloseBehindTheHeadTriesAgain() throws {
        var machine = try Self.streaming(Self.triesAgain)
        #expect(machine.upstreamEnd(.success(())) == .upstreamFailed(.transient, hop: "closed"))
        guard case .endAnswer(let last, _) = machine.giveUp() else {
            Issue.record("given up behind the head: an error event")
            return
        }
        #expect(Self.text(last).hasPrefix("event: error"))
    }

    @Test("the new call's error status, given up, is an error event on the stream, never a second head")
    func errorStatusBehindTheHeadIsAnErrorEvent() throws {
        var machine = try Self.failedBehindTheHead()
        _ = machine.tryAgain(.messages(try Self.translated(stream: true)))
        #expect(machine.upstreamHead(status: 503, headers: []) == .none)
        _ = machine.upstreamBody(Array(#"{"object":"error","message":"busy"}"#.utf8))
        #expect(machine.upstreamEnd(.success(())) == .upstreamFailed(.transient, hop: "503"))
        _ = machine.takeFacts()
        guard case .endAnswer(let last, _) = machine.giveUp() else {
            Issue.record("expected the stream to end with an error event")
            return
        }
        #expect(Self.text(last).hasPrefix("event: error\ndata: {\"type\":\"error\""))
        #expect(Self.text(last).contains("overloaded_error") || Self.text(last).contains("api_error"))
        #expect(machine.takeFacts().contains(.endedWithErrorEvent))
        #expect(machine.isFinished)
        // And a new call that cannot be made (given up at once) ends the same way.
        var unreachable = try Self.failedBehindTheHead()
        _ = unreachable.tryAgain(.messages(try Self.translated(stream: true)))
        #expect(unreachable.upstreamEnd(.failure(.connectFailed("refused"))) == .upstreamFailed(.transient, hop: "connect"))
        guard case .endAnswer(let refused, _) = unreachable.giveUp() else {
            Issue.record("expected an error event")
            return
        }
        #expect(Self.text(refused).hasPrefix("event: error"))
    }

    @Test("behind the head, only a translated stream can continue: a fallback to an Anthropic API alias gives up with an error event")
    func relayBehindTheHeadGivesUp() throws {
        var machine = try Self.failedBehindTheHead()
        guard case .endAnswer(let last, _) = machine.tryAgain(.anthropicRelay, firstBody: Array("{}".utf8)) else {
            Issue.record("expected an error event")
            return
        }
        #expect(Self.text(last).hasPrefix("event: error"))
    }

    @Test("a cut while another call is made behind the head ends the stream with an error event")
    func cutBehindTheHead() throws {
        var machine = try Self.failedBehindTheHead()
        _ = machine.tryAgain(.messages(try Self.translated(stream: true)))
        guard case .endAnswer(let last, true) = machine.cut(reason: "drain") else {
            Issue.record("expected an error event, the new call cancelled")
            return
        }
        #expect(Self.text(last).contains("overloaded_error"))
    }

    @Test("without retries, a failure behind the head is the error event it always was; the total timeout never calls again")
    func behindTheHeadWithoutRetries() throws {
        var machine = try Self.streaming()
        guard case .endAnswer(let last, _) = machine.upstreamEnd(.failure(.transport(code: 18, message: "Transferred a partial file"))) else {
            Issue.record("expected the end of the stream")
            return
        }
        #expect(Self.text(last).contains("event: error"))
        var spent = try Self.streaming(Self.triesAgain)
        guard case .endAnswer = spent.upstreamEnd(.failure(.totalTimeout)) else {
            Issue.record("the total timeout ends the stream")
            return
        }
    }
}
