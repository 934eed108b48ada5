// SPDX-License-Identifier: Apache-2.0
import BridgeUpstream
import Dispatch
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Every test runs a real `UpstreamTransport` (its own curl thread) against a raw-socket HTTP server on
/// 127.0.0.1. Each ends by shutting the transport down (which joins the curl thread, so no callback can
/// arrive later) and then checks that every sink saw `completed` exactly once and nothing after it.
@Suite("UpstreamTransport: libcurl multi on one thread")
struct UpstreamTransportTests {
    /// Shuts everything down, then pins the exactly-once completion contract for every sink.
    private func finish(_ transport: UpstreamTransport, _ server: TestHTTPServer?, _ sinks: [RecordingSink],
                        sourceLocation: SourceLocation = #_sourceLocation) {
        transport.shutdown()
        server?.stop()
        for sink in sinks {
            #expect(sink.completionCount == 1, "completed must be called exactly once", sourceLocation: sourceLocation)
            #expect(sink.state.withLock { $0.calledAfterCompletion } == 0, sourceLocation: sourceLocation)
        }
        #expect(transport.requestsInFlight == 0, sourceLocation: sourceLocation)
    }

    // MARK: Requests and responses

    @Test("GET sends the request headers and delivers status, response headers and body")
    func getDeliversStatusHeadersAndBody() async {
        let server = TestHTTPServer { request, connection in
            connection.respond(
                headers: [("X-Echo", request.header("X-Test") ?? "missing"), ("Content-Type", "text/plain")],
                body: Array("hello \(request.method) \(request.target)".utf8))
            return true
        }
        let transport = UpstreamTransport()
        let sink = RecordingSink()
        let handle = transport.start(
            UpstreamRequest(url: server.url("/v1/models?x=1"), headers: [("X-Test", "abc")]), sink: sink)

        #expect(await eventually { sink.isCompleted })
        #expect(sink.succeeded)
        #expect(sink.status == 200)
        #expect(sink.header("X-Echo") == "abc")
        #expect(sink.header("content-type") == "text/plain")
        #expect(sink.bodyText == "hello GET /v1/models?x=1")
        #expect(handle.isCompleted)
        // After completion both controls are no-ops.
        handle.cancel()
        handle.resume()
        finish(transport, server, [sink])
        #expect(sink.succeeded)
    }

    @Test("a request body is sent exactly, with Content-Length, its headers and the method, and no Expect: 100-continue",
          arguments: ["POST", "PUT"])
    func bodyAndHeadersAreSent(method: String) async {
        let payload = patternBytes(count: 2 << 20)  // above libcurl's 1 MB Expect: 100-continue threshold
        let server = TestHTTPServer { request, connection in
            connection.respond(status: 201, reason: "Created", body: request.body)
            return true
        }
        let transport = UpstreamTransport()
        let sink = RecordingSink()
        transport.start(
            UpstreamRequest(method: method, url: server.url("/v1/chat/completions"),
                            headers: [("Content-Type", "application/json"), ("Authorization", "Bearer k")],
                            body: payload),
            sink: sink)

        #expect(await eventually { sink.isCompleted })
        #expect(sink.succeeded)
        #expect(sink.status == 201)
        #expect(sameBytes(sink.body, payload))
        let seen = server.receivedRequests.first
        #expect(seen?.method == method)
        #expect(seen?.target == "/v1/chat/completions")
        #expect(seen?.header("Content-Type") == "application/json")
        #expect(seen?.header("Authorization") == "Bearer k")
        #expect(seen?.header("Content-Length") == String(payload.count))
        #expect(seen?.header("Expect") == nil)
        #expect(seen.map { sameBytes($0.body, payload) } == true)
        finish(transport, server, [sink])
    }

    @Test("status and headers reach the sink when the header block ends, before any body byte; an HTTP error status still completes successfully")
    func headBeforeBodyAndErrorStatusIsSuccess() async {
        let headDelivered = Signal()
        let serverSawHead = Later<Bool>()
        let server = TestHTTPServer { _, connection in
            connection.startChunked(status: 503, headers: [("Retry-After", "1")])
            // No body byte is sent until the sink has the head.
            serverSawHead.set(headDelivered.wait(timeout: 10))
            for piece in ["a", "bb", "ccc"] { connection.sendChunk(Array(piece.utf8)) }
            connection.endChunked()
            return true
        }
        let transport = UpstreamTransport()
        let sink = RecordingSink(onHead: { headDelivered.fire() })
        transport.start(UpstreamRequest(url: server.url()), sink: sink)

        #expect(await eventually { sink.isCompleted })
        #expect(sink.succeeded)
        #expect(serverSawHead.value == true)
        let events = sink.events
        #expect(events.first == .head(503))
        #expect(events.last == .completed)
        #expect(events.filter { $0 == .head(503) }.count == 1)
        #expect(sink.header("Retry-After") == "1")
        #expect(sink.bodyText == "abbccc")
        finish(transport, server, [sink])
    }

    @Test("a chunked stream is delivered piece by piece: the sink sees the first piece before the server sends the second")
    func streamingDeliversEachPieceAsSent() async {
        let firstDelivered = Signal()
        let serverSawDelivery = Later<Bool>()
        let server = TestHTTPServer { _, connection in
            connection.startChunked(headers: [("Content-Type", "text/event-stream")])
            connection.sendChunk(Array("data: first\n\n".utf8))
            // The second piece is only sent once the client has handed the first to the sink.
            serverSawDelivery.set(firstDelivered.wait(timeout: 10))
            connection.sendChunk(Array("data: second\n\n".utf8))
            connection.endChunked()
            return true
        }
        let transport = UpstreamTransport()
        let sink = RecordingSink(keepPieces: true, onBody: { firstDelivered.fire() })
        transport.start(UpstreamRequest(url: server.url("/stream")), sink: sink)

        #expect(await eventually { sink.isCompleted })
        #expect(sink.succeeded)
        #expect(serverSawDelivery.value == true)
        let pieces = sink.state.withLock { $0.pieces }.map { String(decoding: $0, as: UTF8.self) }
        #expect(pieces == ["data: first\n\n", "data: second\n\n"])
        finish(transport, server, [sink])
    }

    @Test("a response cut short by the server is a transport error carrying the curl code and message")
    func truncatedResponseIsTransportError() async {
        let server = TestHTTPServer { _, connection in
            connection.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
            return false  // close with 90 bytes missing
        }
        let transport = UpstreamTransport()
        let sink = RecordingSink()
        transport.start(UpstreamRequest(url: server.url()), sink: sink)

        #expect(await eventually { sink.isCompleted })
        if case .transport(let code, let message) = sink.error {
            #expect(code == 18)  // CURLE_PARTIAL_FILE
            #expect(!message.isEmpty)
        } else {
            Issue.record("expected .transport, got \(String(describing: sink.result))")
        }
        finish(transport, server, [sink])
    }

    // MARK: Backpressure

    @Test("a sink that pauses stops the transfer (the server's send blocks) and resume delivers every byte exactly once")
    func pauseStopsTransferAndResumeLosesNothing() async throws {
        let payload = patternBytes(count: 16 << 20)
        let sent = Counter()
        let server = TestHTTPServer(sendBufferSize: 64 << 10) { _, connection in
            guard connection.send("HTTP/1.1 200 OK\r\nContent-Length: \(payload.count)\r\n\r\n") else { return false }
            for start in stride(from: 0, to: payload.count, by: 64 << 10) {
                let end = min(start + (64 << 10), payload.count)
                guard connection.send(Array(payload[start..<end])) else { return false }
                sent.add(end - start)
            }
            return true
        }
        let transport = UpstreamTransport()
        let sink = RecordingSink { _, state in
            if state.pauses == 0 && state.body.count >= 256 << 10 {
                state.pauses += 1
                state.holding = true
                return .pause
            }
            return .continue
        }
        let handle = transport.start(UpstreamRequest(url: server.url("/big")), sink: sink)

        #expect(await eventually { sink.state.withLock { $0.pauses } == 1 })
        // Wait until the server's progress stops: nothing reads the socket any more.
        var stalled = false
        var previous = -1
        for _ in 0..<50 {
            let now = sent.value
            if now == previous { stalled = true; break }
            previous = now
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(stalled, "the server kept sending while the sink was paused")
        #expect(sent.value < payload.count)
        #expect(!sink.isCompleted)

        sink.state.withLock { $0.holding = false }
        handle.resume()
        #expect(await eventually(timeout: .seconds(20)) { sink.isCompleted })
        #expect(sink.succeeded)
        #expect(sink.state.withLock { $0.callsWhileHolding } == 0, "no bytes may be offered while paused")
        #expect(sameBytes(sink.body, payload), "bytes lost or duplicated across pause/resume")
        finish(transport, server, [sink])
    }

    @Test("after .pause the refused bytes are offered again on resume, starting at the same byte",
          arguments: [false, true], [false, true])
    func refusedBytesAreOfferedAgain(chunked: Bool, resumeInsideCallback: Bool) async {
        let pieces = (0..<300).map { index in patternBytes(count: (index * 7919) % 6000 + 1, seed: UInt64(index) << 32) }
        let payload = pieces.flatMap { $0 }
        let server = TestHTTPServer { _, connection in
            if chunked {
                connection.startChunked()
                for piece in pieces { connection.sendChunk(piece) }
                connection.endChunked()
            } else {
                connection.send("HTTP/1.1 200 OK\r\nContent-Length: \(payload.count)\r\n\r\n")
                for piece in pieces { connection.send(piece) }
            }
            return true
        }
        let transport = UpstreamTransport()
        let handle = Later<UpstreamHandle>()
        let resumeSoon: @Sendable () -> Void = {
            DispatchQueue.global().async {
                while handle.value == nil { usleep(100) }
                handle.value!.resume()
            }
        }
        // Refuses every fresh buffer once, accepts its redelivery: every buffer goes through pause/resume.
        let sink = RecordingSink { bytes, state in
            if let refused = state.refused {
                if bytes.count < refused.count || !bytes.prefix(refused.count).elementsEqual(refused) {
                    state.redeliveryMismatches += 1
                }
                state.refused = nil
                return .continue
            }
            state.pauses += 1
            state.refused = Array(bytes)
            if resumeInsideCallback, let handle = handle.value {
                handle.resume()  // before returning .pause: processed after the callback returns
            } else {
                resumeSoon()
            }
            return .pause
        }
        handle.set(transport.start(UpstreamRequest(url: server.url("/pieces")), sink: sink))

        #expect(await eventually(timeout: .seconds(20)) { sink.isCompleted })
        #expect(sink.succeeded)
        let state = sink.state.withLock { ($0.pauses, $0.redeliveryMismatches) }
        #expect(state.0 >= 10)
        #expect(state.1 == 0)
        #expect(sameBytes(sink.body, payload))
        finish(transport, server, [sink])
    }

    @Test("time spent paused by the sink never counts toward the idle timeout")
    func pausedTimeIsNotIdle() async throws {
        let server = TestHTTPServer { _, connection in
            connection.startChunked()
            connection.sendChunk(Array("a".utf8))
            connection.sendChunk(Array("b".utf8))
            connection.endChunked()
            return true
        }
        let transport = UpstreamTransport()
        let sink = RecordingSink { _, state in
            if state.pauses == 0 { state.pauses = 1; return .pause }
            return .continue
        }
        let handle = transport.start(
            UpstreamRequest(url: server.url(), timeouts: UpstreamTimeouts(idle: .milliseconds(100))), sink: sink)
        #expect(await eventually { sink.state.withLock { $0.pauses } == 1 })
        try await Task.sleep(for: .milliseconds(500))  // five idle periods, all paused
        #expect(!sink.isCompleted)
        handle.resume()
        #expect(await eventually { sink.isCompleted })
        #expect(sink.succeeded)
        #expect(sink.bodyText == "ab")
        finish(transport, server, [sink])
    }

    @Test("a sink that holds the transfer paused past the paused limit ends it with .consumerStalled and closes the upstream")
    func pausedTooLongIsConsumerStalled() async {
        let peerClosed = Later<Bool>()
        let server = TestHTTPServer { _, connection in
            connection.startChunked()
            connection.sendChunk(Array("data: token\n\n".utf8))
            peerClosed.set(connection.waitForPeerClose(timeout: 10))
            return false
        }
        let transport = UpstreamTransport()
        let sink = RecordingSink { _, state in
            state.pauses += 1
            return .pause
        }
        transport.start(
            UpstreamRequest(url: server.url(), timeouts: UpstreamTimeouts(idle: .seconds(30), paused: .milliseconds(200))), sink: sink)
        #expect(await eventually { sink.isCompleted })
        #expect(sink.error == .consumerStalled)
        #expect(await eventually { peerClosed.value != nil })
        #expect(peerClosed.value == true)
        finish(transport, server, [sink])
    }

    @Test("a stream that keeps sending a byte at a time within the idle limit ends at the total limit with .totalTimeout")
    func dripStopsAtTotalTimeout() async {
        let peerClosed = Later<Bool>()
        let server = TestHTTPServer { _, connection in
            connection.startChunked()
            for _ in 0..<200 {
                connection.sendChunk(Array("x".utf8))
                if connection.waitForPeerClose(timeout: 0.05) {
                    peerClosed.set(true)
                    return false
                }
            }
            peerClosed.set(false)
            return false
        }
        let transport = UpstreamTransport()
        let sink = RecordingSink()
        transport.start(
            UpstreamRequest(url: server.url(), timeouts: UpstreamTimeouts(idle: .seconds(2), total: .milliseconds(500))), sink: sink)
        #expect(await eventually { sink.isCompleted })
        #expect(sink.error == .totalTimeout)
        #expect(!sink.bodyText.isEmpty)
        #expect(await eventually { peerClosed.value != nil })
        #expect(peerClosed.value == true)
        finish(transport, server, [sink])
    }

    // MARK: Cancel

    @Test("cancel mid-stream completes with .cancelled and closes the upstream TCP connection promptly",
          arguments: [false, true])
    func cancelClosesConnection(whilePaused: Bool) async {
        let peerClosed = Later<Bool>()
        let server = TestHTTPServer { _, connection in
            connection.startChunked()
            connection.sendChunk(Array("data: token\n\n".utf8))
            peerClosed.set(connection.waitForPeerClose(timeout: 10))
            return false
        }
        let transport = UpstreamTransport()
        let sink = RecordingSink { _, state in
            if whilePaused { state.pauses += 1; return .pause }
            return .continue
        }
        let handle = transport.start(UpstreamRequest(url: server.url("/stream")), sink: sink)
        #expect(await eventually { sink.state.withLock { $0.bodyCalls } >= 1 })

        handle.cancel()
        #expect(await eventually { peerClosed.value != nil })
        #expect(peerClosed.value == true, "the server never saw the connection close")
        #expect(await eventually { sink.isCompleted })
        #expect(sink.error == .cancelled)
        #expect(handle.isCompleted)
        handle.cancel()
        handle.resume()
        finish(transport, server, [sink])
        #expect(sink.error == .cancelled)
    }

    // MARK: Connections

    @Test("two sequential requests to the same server reuse one keep-alive connection")
    func sequentialRequestsReuseConnection() async {
        let server = TestHTTPServer { request, connection in
            connection.respond(body: Array(request.target.utf8))
            return true
        }
        // The pool's age limit (4 s by default) is not what this pins: on a loaded machine the second
        // request may start more than 4 s after the first ended, and then rightly opens a new connection.
        let transport = UpstreamTransport(configuration: .init(maxIdleConnectionAgeSeconds: 3600))
        let first = RecordingSink()
        transport.start(UpstreamRequest(url: server.url("/one")), sink: first)
        #expect(await eventually { first.isCompleted })
        let second = RecordingSink()
        transport.start(UpstreamRequest(method: "POST", url: server.url("/two"), body: Array("{}".utf8)), sink: second)
        #expect(await eventually { second.isCompleted })

        #expect(first.bodyText == "/one")
        #expect(second.bodyText == "/two")
        #expect(server.receivedRequests.count == 2)
        #expect(server.acceptedConnections == 1)
        #expect(transport.connectionsOpened == 1)
        finish(transport, server, [first, second])
    }

    @Test("a refused connection completes with .connectFailed and libcurl's detail")
    func refusedConnectionIsConnectFailed() async {
        // A bound socket that never listens: connecting to its port is refused (RST).
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = loopbackAddress(port: 0)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        defer { close(fd) }
        let port = boundPort(of: fd)
        let transport = UpstreamTransport()
        let sink = RecordingSink()
        transport.start(UpstreamRequest(url: "http://127.0.0.1:\(port)/"), sink: sink)

        #expect(await eventually { sink.isCompleted })
        if case .connectFailed(let detail) = sink.error {
            #expect(detail.contains("\(port)"))
        } else {
            Issue.record("expected .connectFailed, got \(String(describing: sink.result))")
        }
        #expect(sink.state.withLock { $0.headCalls } == 0)
        finish(transport, nil, [sink])
    }

    @Test("a connect that gets no answer completes with .connectTimeout")
    func unansweredConnectIsConnectTimeout() async {
        // backlog 0 and nobody accepting: once one connection fills the accept queue, the kernel drops SYNs.
        let server = TestHTTPServer(backlog: 0, acceptConnections: false)
        let filler = connectLoopback(port: server.port)
        defer { if filler >= 0 { close(filler) } }
        let transport = UpstreamTransport()
        let sink = RecordingSink()
        transport.start(
            UpstreamRequest(url: server.url(), timeouts: UpstreamTimeouts(connect: .milliseconds(200))), sink: sink)

        #expect(await eventually { sink.isCompleted })
        #expect(sink.error == .connectTimeout)
        finish(transport, server, [sink])
    }

    @Test("a server that never answers produces .firstByteTimeout and the connection is closed")
    func silentServerIsFirstByteTimeout() async {
        let peerClosed = Later<Bool>()
        let server = TestHTTPServer { _, connection in
            peerClosed.set(connection.waitForPeerClose(timeout: 10))
            return false
        }
        let transport = UpstreamTransport()
        let sink = RecordingSink()
        transport.start(
            UpstreamRequest(method: "POST", url: server.url(), body: Array("{}".utf8),
                            timeouts: UpstreamTimeouts(firstByte: .milliseconds(200), idle: .seconds(30))),
            sink: sink)

        #expect(await eventually { sink.isCompleted })
        #expect(sink.error == .firstByteTimeout)
        #expect(sink.state.withLock { $0.headCalls } == 0)
        #expect(await eventually { peerClosed.value != nil })
        #expect(peerClosed.value == true)
        finish(transport, server, [sink])
    }

    @Test("a stream that stalls after its first bytes produces .idleTimeout")
    func stalledStreamIsIdleTimeout() async {
        let peerClosed = Later<Bool>()
        let server = TestHTTPServer { _, connection in
            connection.startChunked()
            connection.sendChunk(Array("data: partial\n\n".utf8))
            peerClosed.set(connection.waitForPeerClose(timeout: 10))
            return false
        }
        let transport = UpstreamTransport()
        let sink = RecordingSink()
        transport.start(
            UpstreamRequest(url: server.url(), timeouts: UpstreamTimeouts(firstByte: .seconds(30), idle: .milliseconds(200))),
            sink: sink)

        #expect(await eventually { sink.isCompleted })
        #expect(sink.error == .idleTimeout)
        #expect(sink.status == 200)
        #expect(sink.bodyText == "data: partial\n\n")
        #expect(await eventually { peerClosed.value != nil })
        #expect(peerClosed.value == true)
        finish(transport, server, [sink])
    }

    // MARK: Scale and lifecycle

    @Test("200 concurrent requests all complete with their own response")
    func twoHundredConcurrentRequests() async {
        let server = TestHTTPServer { request, connection in
            connection.respond(body: Array("reply to \(request.target)".utf8))
            return true
        }
        let transport = UpstreamTransport()
        let sinks = (0..<200).map { _ in RecordingSink() }
        for (index, sink) in sinks.enumerated() {
            transport.start(UpstreamRequest(url: server.url("/r/\(index)")), sink: sink)
        }
        #expect(await eventually(timeout: .seconds(20)) { sinks.allSatisfy(\.isCompleted) })
        for (index, sink) in sinks.enumerated() {
            #expect(sink.succeeded)
            #expect(sink.bodyText == "reply to /r/\(index)")
        }
        #expect(transport.requestsInFlight == 0)
        #expect((1...200).contains(transport.connectionsOpened))
        finish(transport, server, sinks)
    }

    @Test("completed is called exactly once when cancels race with start, streaming and completion")
    func completedExactlyOnceUnderRacingCancels() async {
        let server = TestHTTPServer { _, connection in
            connection.startChunked()
            for index in 0..<20 {
                guard connection.sendChunk(Array("chunk \(index)\n".utf8)) else { return false }
                usleep(500)
            }
            connection.endChunked()
            return true
        }
        let transport = UpstreamTransport()
        let count = 60
        let sinks = (0..<count).map { _ in RecordingSink() }
        var handles: [UpstreamHandle] = []
        for (index, sink) in sinks.enumerated() {
            let handle = transport.start(UpstreamRequest(url: server.url("/s/\(index)")), sink: sink)
            handles.append(handle)
            switch index % 4 {
            case 0: handle.cancel()  // queued right behind its start
            case 3:  // concurrent cancels and resumes from several threads
                for _ in 0..<3 { DispatchQueue.global().async { handle.cancel(); handle.resume() } }
            default: break
            }
        }
        #expect(await eventually { sinks.enumerated().allSatisfy { $0.offset % 4 == 0 || $0.element.state.withLock { $0.bodyCalls } > 0 || $0.element.isCompleted } })
        for (index, handle) in handles.enumerated() where index % 4 == 1 { handle.cancel() }
        #expect(await eventually(timeout: .seconds(20)) { sinks.allSatisfy(\.isCompleted) })
        for (index, handle) in handles.enumerated() where index % 4 == 2 {
            handle.cancel()  // after completion: no effect
            #expect(sinks[index].succeeded)
        }
        for (index, sink) in sinks.enumerated() {
            #expect(sink.succeeded || sink.error == .cancelled)
            if index % 4 == 0 { #expect(sink.error == .cancelled) }
        }
        finish(transport, server, sinks)
    }

    @Test("shutdown cancels in-flight requests, closes their connections and joins; later starts complete as cancelled")
    func shutdownCancelsEverything() async {
        let closes = Counter()
        let server = TestHTTPServer { _, connection in
            connection.startChunked()
            connection.sendChunk(Array("x".utf8))
            if connection.waitForPeerClose(timeout: 10) { closes.add(1) }
            return false
        }
        let transport = UpstreamTransport()
        let sinks = (0..<3).map { _ in RecordingSink() }
        for sink in sinks { transport.start(UpstreamRequest(url: server.url()), sink: sink) }
        #expect(await eventually { sinks.allSatisfy { $0.state.withLock { $0.bodyCalls } > 0 } })

        transport.shutdown()
        // shutdown joined the curl thread: every sink has already completed.
        for sink in sinks { #expect(sink.error == .cancelled) }
        #expect(await eventually { closes.value == 3 })

        let late = RecordingSink()
        let handle = transport.start(UpstreamRequest(url: server.url()), sink: late)
        #expect(late.error == .cancelled)
        #expect(handle.isCompleted)
        handle.cancel()
        handle.resume()
        transport.shutdown()
        finish(transport, server, sinks + [late])
    }
}
