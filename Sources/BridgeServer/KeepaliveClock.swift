// SPDX-License-Identifier: Apache-2.0
/// When a stream gets a keep-alive `ping`: at each tick of a timer running every `keepalive_seconds`,
/// if nothing went to the client since the previous tick and the client is reading.
///
/// A value with events in and a decision out, so the rule is tested without sockets or timers.
struct KeepaliveClock: Sendable, Equatable {
    private var wroteSinceTick = false
    /// Pings decided so far.
    private(set) var pings = 0

    /// Something (an event) went to the client.
    mutating func wrote() {
        wroteSinceTick = true
    }

    /// The timer fired: whether to send a ping now.
    mutating func tick(clientWritable: Bool) -> Bool {
        defer { wroteSinceTick = false }
        // A client that is not reading needs no ping (and must not have them pile up).
        guard !wroteSinceTick, clientWritable else { return false }
        pings += 1
        return true
    }
}
