// SPDX-License-Identifier: Apache-2.0
import NIOConcurrencyHelpers

/// How a new client connection is let in, by the number already open (`limits.max_connections`).
enum ConnectionAdmission: Equatable {
    /// Served as usual.
    case serve
    /// Over the limit, within the spare connections: `/health`, `/` and `/metrics` are answered,
    /// anything else gets 503; the connection closes after one answer.
    case spare
    /// Over the limit and the spare connections: closed at once.
    case refuse
}

/// The open client connections against the limit, as a state machine: each event returns what to
/// do, including whether to log that the limit is reached (at most once per `reportInterval`, with
/// how many connections were turned away since the last report).
struct ConnectionCount {
    static let reportInterval = Duration.seconds(10)

    private(set) var open = 0
    private var turnedAway = 0
    private var lastReport: ContinuousClock.Instant?

    /// A report to log: the limit and how many connections were turned away since the last report.
    struct LimitReport: Equatable {
        var limit: Int
        var turnedAway: Int
    }

    /// A connection was accepted. A refused one is not counted as open (it is closed at once).
    mutating func opened(limit: Int, spare: Int, at now: ContinuousClock.Instant) -> (ConnectionAdmission, LimitReport?) {
        let admission: ConnectionAdmission
        if open < limit {
            admission = .serve
        } else if open < limit + spare {
            admission = .spare
        } else {
            admission = .refuse
        }
        if admission != .refuse { open += 1 }
        guard admission != .serve else { return (admission, nil) }
        turnedAway += 1
        if let lastReport, now - lastReport < Self.reportInterval { return (admission, nil) }
        lastReport = now
        defer { turnedAway = 0 }
        return (admission, LimitReport(limit: limit, turnedAway: turnedAway))
    }

    /// A counted connection closed.
    mutating func closed() {
        open = max(0, open - 1)
    }
}

/// The bridge's client connections, shared by every event loop.
public final class ClientConnections: Sendable {
    private let count = NIOLockedValueBox(ConnectionCount())

    /// Client connections open now.
    public var open: Int { count.withLockedValue { $0.open } }

    func opened(limit: Int, spare: Int) -> (ConnectionAdmission, ConnectionCount.LimitReport?, open: Int) {
        count.withLockedValue { count in
            let (admission, report) = count.opened(limit: limit, spare: spare, at: .now)
            return (admission, report, count.open)
        }
    }

    func closed() -> Int {
        count.withLockedValue { count in
            count.closed()
            return count.open
        }
    }
}

/// Why the bridge turned a connection away or cut it short: the `reason` label of
/// `spark_bridge_connections_cut_total`, a closed set.
enum ConnectionCut: String, CaseIterable, Sendable {
    /// Over `limits.max_connections`: answered 503, or closed at once past the spare connections.
    case overLimit = "over_limit"
    case headerTimeout = "header_timeout"
    case bodyTimeout = "body_timeout"
    case keepAliveTimeout = "keep_alive_timeout"
    case requestDeadline = "request_deadline"
    /// A request NIO could not parse (answered 400).
    case badRequest = "bad_request"
}
