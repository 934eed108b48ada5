// SPDX-License-Identifier: Apache-2.0
/// The daemon measures time with `ContinuousClock` (instants) and `Duration` (amounts); these read a
/// duration out in the unit a log line, a metric or a report wants. NIO's `NIODeadline`/`TimeAmount`
/// appear only where an event loop schedules a task, and `Date` only for wall-clock stamps shown to people.
extension Duration {
    /// Milliseconds with their fraction: the unit of every `_ms` figure (logs, traces, `/health`).
    var inMilliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1_000 + Double(attoseconds) / 1e15
    }

    /// Whole nanoseconds (for metrics, and for NIO's `TimeAmount`).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// Whole seconds, for messages.
    var seconds: Int64 { components.seconds }
}
