// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import ControlProtocol

extension BridgeContext {
    /// One line for `systemctl status`: aliases, backends, streams, draining.
    public var statusLine: String {
        let backends = healthSnapshot()
        var parts = [
            "\(configuration.aliases.allAliases.count) aliases",
            "\(backends.filter { $0.state == .up }.count)/\(backends.count) backends up",
            "\(tracker.requestsInFlight) requests / \(tracker.streamsInFlight) streams in flight",
        ]
        if isDraining { parts.append("draining") }
        return parts.joined(separator: ", ")
    }
}
