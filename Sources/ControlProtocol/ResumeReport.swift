// SPDX-License-Identifier: Apache-2.0
/// `resume`: the daemon (or the backend) takes requests again.
public struct ResumeReport: Codable, Sendable, Equatable {
    /// False once resumed; true when the daemon as a whole is still drained (a backend was resumed
    /// while everything is drained).
    public var draining: Bool

    /// A report.
    public init(draining: Bool = false) {
        self.draining = draining
    }
}
