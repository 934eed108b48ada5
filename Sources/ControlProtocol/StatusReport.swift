// SPDX-License-Identifier: Apache-2.0
import FoundationEssentials

/// `status`: what the daemon is doing and how long it has been doing it.
public struct StatusReport: Codable, Sendable, Equatable {
    /// The daemon's version (`spark-bridge --version`).
    public var version: String
    /// Seconds since the daemon started.
    public var uptimeSeconds: Double
    /// The configuration file in use.
    public var configPath: String
    /// When that configuration was loaded (at start or by the last successful reload).
    public var configLoadedAt: Date
    /// The HTTP addresses served, `host:port`.
    public var listeners: [String]
    /// Requests being answered now, streams included.
    public var requestsInFlight: Int
    /// Of those, the streaming ones.
    public var streamsInFlight: Int
    /// Requests answered since start.
    public var requestsTotal: Int
    /// True while the whole daemon is drained (new requests refused).
    public var draining: Bool
    /// Backends drained one by one, by name.
    public var drainedBackends: [String]

    /// A report with every field given.
    public init(
        version: String, uptimeSeconds: Double, configPath: String, configLoadedAt: Date, listeners: [String],
        requestsInFlight: Int, streamsInFlight: Int, requestsTotal: Int, draining: Bool, drainedBackends: [String]
    ) {
        self.version = version
        self.uptimeSeconds = uptimeSeconds
        self.configPath = configPath
        self.configLoadedAt = configLoadedAt
        self.listeners = listeners
        self.requestsInFlight = requestsInFlight
        self.streamsInFlight = streamsInFlight
        self.requestsTotal = requestsTotal
        self.draining = draining
        self.drainedBackends = drainedBackends
    }

    enum CodingKeys: String, CodingKey {
        case version
        case uptimeSeconds = "uptime_seconds"
        case configPath = "config_path"
        case configLoadedAt = "config_loaded_at"
        case listeners
        case requestsInFlight = "requests_in_flight"
        case streamsInFlight = "streams_in_flight"
        case requestsTotal = "requests_total"
        case draining
        case drainedBackends = "drained_backends"
    }
}
