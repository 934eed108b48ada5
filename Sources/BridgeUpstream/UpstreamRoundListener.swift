// SPDX-License-Identifier: Apache-2.0
/// Told when one round of the curl thread's loop has ended: the queued commands, libcurl's timer, every
/// socket one `epoll_wait` reported ready and the completions they produced have all been handled, and
/// the thread is about to wait again.
///
/// Sinks that hand what they receive to other threads collect it during the round and hand it over here,
/// once per receiving thread: a small answer whose head, body and end arrive in one read is one
/// hand-off instead of three, and a round that reads a token from each of 500 streams served by two
/// event loops wakes two threads, not 500 times. Set with ``UpstreamTransport/setRoundListener(_:)``.
public protocol UpstreamRoundListener: Sendable {
    /// On the curl thread after each round; on the caller's thread after a start rejected at shutdown
    /// (whose sink was completed there).
    func upstreamRoundEnded()
}
