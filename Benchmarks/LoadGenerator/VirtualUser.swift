// SPDX-License-Identifier: Apache-2.0
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// When a run records and when it stops starting requests, on the monotonic clock.
struct RunWindow: Sendable {
    /// Requests starting before this are not recorded.
    let recordFrom: NIODeadline
    /// No request starts at or after this.
    let stopStarting: NIODeadline
    /// Connections still busy at this moment are closed; their requests count as incomplete.
    let cutOff: NIODeadline
    /// Each virtual user sends at most this many requests.
    let requestsPerUser: Int
}

/// How many requests a virtual user has sent, across its reconnections.
typealias RequestBudget = NIOLockedValueBox<Int>

/// One virtual user on one connection: sends the request, reads the answer, records a sample, sends
/// again, until the window closes. Lives on its channel's event loop; the samples leave through
/// `done` when the connection closes.
final class VirtualUserHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private struct InFlight {
        let start: NIODeadline
        var status = 0
        var firstByte: NIODeadline?
        var firstToken: NIODeadline?
        var bodyBytes = 0
        var scanner: EventScanner
        var keepAlive = true
        var requestID: String?
    }

    private let request: LoadRequest
    private let head: HTTPRequestHead
    private let body: ByteBuffer
    private let window: RunWindow
    private let done: EventLoopPromise<[RequestSample]>
    private let budget: RequestBudget
    private var samples: [RequestSample] = []
    private var inFlight: InFlight?
    private var cutOffTask: Scheduled<Void>?

    init(request: LoadRequest, head: HTTPRequestHead, body: ByteBuffer, window: RunWindow, budget: RequestBudget, done: EventLoopPromise<[RequestSample]>) {
        self.budget = budget
        self.request = request
        self.head = head
        self.body = body
        self.window = window
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        cutOffTask = context.eventLoop.scheduleTask(deadline: window.cutOff) { loopBound.value.close(promise: nil) }
        sendNext(context: context)
    }

    private func sendNext(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        let allowed = budget.withLockedValue { sent in
            guard sent < window.requestsPerUser else { return false }
            sent += 1
            return true
        }
        guard now < window.stopStarting, allowed else {
            context.close(promise: nil)
            return
        }
        inFlight = InFlight(start: now, scanner: EventScanner(dialect: request.dialect))
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard var current = inFlight else { return }
        switch unwrapInboundIn(data) {
        case .head(let responseHead):
            current.status = Int(responseHead.status.code)
            current.firstByte = .now()
            current.keepAlive = responseHead.isKeepAlive
            current.requestID = responseHead.headers.first(name: "request-id")
            inFlight = current
        case .body(let buffer):
            current.bodyBytes += buffer.readableBytes
            if request.streams {
                let tokens = buffer.withUnsafeReadableBytes { current.scanner.consume($0) }
                if tokens > 0, current.firstToken == nil { current.firstToken = .now() }
            }
            inFlight = current
        case .end:
            current.scanner.finish()
            inFlight = nil
            record(current, end: .now(), ended: true)
            if current.keepAlive {
                sendNext(context: context)
            } else {
                context.close(promise: nil)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        cutOffTask?.cancel()
        if let current = inFlight {
            inFlight = nil
            record(current, end: .now(), ended: false)
        }
        done.succeed(samples)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func record(_ flight: InFlight, end: NIODeadline, ended: Bool) {
        guard flight.start >= window.recordFrom else { return }
        let scanner = flight.scanner
        var completed = ended && flight.status == 200
        if request.streams {
            completed = completed && scanner.sawEnd && !scanner.sawError
                && (request.expectedTokenEvents.map { scanner.tokenEvents >= $0 } ?? true)
        }
        samples.append(RequestSample(
            startOffsetNanos: (flight.start - window.recordFrom).nanoseconds,
            status: flight.status,
            firstByteNanos: flight.firstByte.map { ($0 - flight.start).nanoseconds },
            firstTokenNanos: flight.firstToken.map { ($0 - flight.start).nanoseconds },
            totalNanos: (end - flight.start).nanoseconds,
            events: scanner.events,
            tokenEvents: scanner.tokenEvents,
            bodyBytes: flight.bodyBytes,
            completed: completed,
            requestID: flight.requestID
        ))
    }
}
