// SPDX-License-Identifier: Apache-2.0
import NIOCore

/// How hard and how long a run pushes: a closed loop of `concurrency` virtual users, each with its own
/// keep-alive connection, each sending the next request as soon as the previous answer has ended.
public struct LoadProfile: Sendable {
    /// Virtual users, i.e. requests in flight at any moment.
    public var concurrency: Int
    /// Requests that start within this time from the run's start are sent but not recorded.
    public var warmup: TimeAmount
    /// Requests start until `warmup + duration` has passed; answers still running then are awaited.
    public var duration: TimeAmount
    /// How long answers still running at the end are awaited before their connections are closed and
    /// they are recorded as incomplete.
    public var grace: TimeAmount
    /// When set, each virtual user stops after this many requests even if time is left.
    public var requestsPerUser: Int?

    /// A profile; see the properties.
    public init(concurrency: Int, warmup: TimeAmount = .zero, duration: TimeAmount, grace: TimeAmount = .seconds(30), requestsPerUser: Int? = nil) {
        precondition(concurrency > 0, "a run needs at least one virtual user")
        self.concurrency = concurrency
        self.warmup = warmup
        self.duration = duration
        self.grace = grace
        self.requestsPerUser = requestsPerUser
    }
}
