// SPDX-License-Identifier: Apache-2.0
import FoundationEssentials

/// Constants and coders shared by both ends of the control socket.
///
/// The protocol is newline-delimited JSON over a Unix stream socket: the client writes one request
/// per line, the daemon answers each with exactly one response line, in order, on the same connection.
public enum ControlWire {
    /// The protocol version this build speaks; sent in every request and response as `version`.
    public static let version = 1

    /// Where the daemon listens unless configured otherwise (`spark_bridge.control_socket`).
    public static let defaultSocketPath = "/run/spark-bridge/control.sock"

    /// The longest request line the daemon reads, newline excluded; longer lines are answered with an error.
    public static let maxRequestLineBytes = 64 * 1024

    /// A JSON encoder with the protocol's conventions: ISO 8601 dates, sorted keys (stable lines for
    /// logs and diffs), unescaped slashes, one line.
    public static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// A JSON decoder matching `makeEncoder()`.
    public static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
