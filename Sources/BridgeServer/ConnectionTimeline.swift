// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import NIOCore

/// The deadlines of one client connection (`spark_bridge.limits`), as a state machine fed with the
/// connection's events and asked which deadline passed. No sockets or timers here: the connection
/// handler schedules one timer at `deadline` and acts on what `expire(at:)` returns.
///
/// - A new connection must deliver its first request head within the header timeout; a kept-alive
///   one must start its next request within the keep-alive timeout, and finish that head within the
///   header timeout of its first byte. A connection trickling a head byte by byte is cut all the same.
/// - A body may pause at most the body timeout between two reads.
/// - A request must be answered within the request deadline of its head.
struct ConnectionTimeline {
    /// The deadline that passed.
    enum Expiry: Equatable {
        /// No complete request head in time: close the connection.
        case header
        /// No new request on a kept-alive connection: close it.
        case keepAlive
        /// The body stalled: answer 408 if nothing was answered yet, and close.
        case body
        /// The request was not answered in time: cut it.
        case request
    }

    private enum Phase {
        /// No byte of a request yet.
        case waiting(until: NIODeadline, expiry: Expiry)
        /// Part of a request head arrived; the rest must by `until`.
        case head(until: NIODeadline)
        /// A request is in progress: its body (until read) and its answer.
        case exchange(Exchange)
        /// The connection missed its header or keep-alive deadline: nothing more is timed.
        case over
    }

    private struct Exchange {
        /// When the body must next make progress; nil once it is read.
        var bodyUntil: NIODeadline?
        /// When the answer must be complete; nil once answered (or once cut).
        var answerUntil: NIODeadline?
        var answered = false
    }

    private let limits: ConnectionLimits
    private var phase: Phase
    /// Whether the connection ever completed a request: a fresh one gets the header timeout from its opening.
    private var served = false

    init(limits: ConnectionLimits, openedAt now: NIODeadline) {
        self.limits = limits
        phase = .waiting(until: now + limits.headerTimeout.timeAmount, expiry: .header)
    }

    /// The earliest deadline still ahead, if any.
    var deadline: NIODeadline? {
        switch phase {
        case .waiting(let until, _), .head(let until):
            return until
        case .exchange(let exchange):
            // The earlier of the two that are set, without building an array (this runs on every event).
            switch (exchange.bodyUntil, exchange.answerUntil) {
            case let (body?, answer?): return min(body, answer)
            case let (body, answer): return body ?? answer
            }
        case .over:
            return nil
        }
    }

    /// Bytes arrived from the client (any bytes: head, body, or the start of the next request).
    mutating func bytesReceived(at now: NIODeadline) {
        switch phase {
        case .waiting(let until, _):
            // The first request's head keeps the deadline counted from the connection's opening.
            phase = .head(until: served ? now + limits.headerTimeout.timeAmount : until)
        case .head, .over:
            break
        case .exchange(var exchange):
            guard exchange.bodyUntil != nil else { return }  // a pipelined request: counted once delivered
            exchange.bodyUntil = now + limits.bodyTimeout.timeAmount
            phase = .exchange(exchange)
        }
    }

    /// A complete request head was decoded.
    mutating func headReceived(at now: NIODeadline) {
        if case .over = phase { return }
        phase = .exchange(Exchange(
            bodyUntil: now + limits.bodyTimeout.timeAmount,
            answerUntil: limits.requestDeadline.map { now + $0.timeAmount }
        ))
    }

    /// The request's body (or its end, for requests without one) was read.
    mutating func requestRead(at now: NIODeadline) {
        guard case .exchange(var exchange) = phase else { return }
        exchange.bodyUntil = nil
        phase = .exchange(exchange)
        settleIfDone(at: now)
    }

    /// The answer is complete (or abandoned).
    mutating func answered(at now: NIODeadline) {
        guard case .exchange(var exchange) = phase else { return }
        exchange.answered = true
        exchange.answerUntil = nil
        phase = .exchange(exchange)
        settleIfDone(at: now)
    }

    /// The deadline that has passed at `now`, if any; each is reported once.
    mutating func expire(at now: NIODeadline) -> Expiry? {
        switch phase {
        case .waiting(let until, let expiry) where until <= now:
            phase = .over
            return expiry
        case .head(let until) where until <= now:
            phase = .over
            return .header
        case .exchange(var exchange):
            if let until = exchange.bodyUntil, until <= now {
                exchange.bodyUntil = nil
                phase = .exchange(exchange)
                return .body
            }
            if let until = exchange.answerUntil, until <= now {
                exchange.answerUntil = nil
                phase = .exchange(exchange)
                return .request
            }
            return nil
        default:
            return nil
        }
    }

    private mutating func settleIfDone(at now: NIODeadline) {
        guard case .exchange(let exchange) = phase, exchange.answered, exchange.bodyUntil == nil else { return }
        served = true
        phase = .waiting(until: now + limits.keepAliveTimeout.timeAmount, expiry: .keepAlive)
    }
}

extension Duration {
    /// The same span as NIO's `TimeAmount` (configured durations are at most a year: no overflow).
    var timeAmount: TimeAmount { .nanoseconds(nanoseconds) }
}
