// SPDX-License-Identifier: Apache-2.0
/// `drain`: how the requests in flight ended. New requests are refused (503) until `resume`.
public struct DrainReport: Codable, Sendable, Equatable {
    /// Requests that finished within the timeout.
    public var finished: Int
    /// Requests still running at the timeout, and cut.
    public var cut: Int
    /// True: the daemon (or the backend) stays drained.
    public var draining: Bool

    /// A report with every field given.
    public init(finished: Int, cut: Int, draining: Bool = true) {
        self.finished = finished
        self.cut = cut
        self.draining = draining
    }
}
