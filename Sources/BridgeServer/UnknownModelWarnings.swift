// SPDX-License-Identifier: Apache-2.0
import NIOConcurrencyHelpers

/// Decides when a request for a model nothing serves is worth a WARNING: once per name per
/// ``interval``, so a client retrying in a loop does not flood the journal.
///
/// Bounded: names are the client's, so at most ``capacity`` are remembered; when full, names last
/// warned about more than an interval ago are forgotten, and if none is, new names are not warned
/// about until some are (they still get their 404 and their request log line).
final class UnknownModelWarnings: Sendable {
    static let capacity = 256
    static let interval = Duration.seconds(60)

    private let lastWarned = NIOLockedValueBox([String: ContinuousClock.Instant]())

    /// Whether to warn about `name` now (and, if so, remember that it was).
    func shouldWarn(_ name: String, now: ContinuousClock.Instant = .now) -> Bool {
        lastWarned.withLockedValue { table in
            if let last = table[name], now - last < Self.interval { return false }
            if table[name] == nil, table.count >= Self.capacity {
                table = table.filter { now - $0.value < Self.interval }
                if table.count >= Self.capacity { return false }
            }
            table[name] = now
            return true
        }
    }
}
