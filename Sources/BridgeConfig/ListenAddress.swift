// SPDX-License-Identifier: Apache-2.0
/// An address the bridge listens on for HTTP, written `HOST:PORT` (`127.0.0.1:4000`,
/// `0.0.0.0:4000`, `localhost:4000`, IPv6 in brackets: `[::1]:4000`).
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible, LosslessStringConvertible {
    /// Why a `HOST:PORT` text is not a listen address.
    public struct FormatError: Error, Sendable, Equatable, CustomStringConvertible {
        /// What is wrong, in words (`the port must be a number from 0 to 65535`).
        public let reason: String
        public var description: String { reason }
    }

    /// The host, IPv6 addresses without their brackets (`::1`).
    public let host: String
    /// The TCP port; 0 asks the system for a free one (tests).
    public let port: Int

    /// An address; `host` is an IPv6 address without brackets, an IPv4 address or a name.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`; an IPv6 host must be in brackets so its colons are not taken for the port's.
    public init(parsing text: String) throws(FormatError) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw FormatError(reason: "missing ']' after the IPv6 address")
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.first == ":" else { throw FormatError(reason: "expected ':PORT' after ']'") }
            portPart = rest.dropFirst()
            guard hostPart.contains(":"), hostPart.allSatisfy({ $0.isHexDigit || ":.%".contains($0) || $0.isLetter || $0.isNumber }) else {
                throw FormatError(reason: "\"\(hostPart)\" is not an IPv6 address")
            }
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw FormatError(reason: "expected HOST:PORT")
            }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            if hostPart.contains(":") {
                throw FormatError(reason: "an IPv6 address needs brackets, as in [::1]:4000")
            }
            guard !hostPart.isEmpty else { throw FormatError(reason: "the host is missing (use 127.0.0.1 or 0.0.0.0)") }
            guard hostPart.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "." || $0 == "-" }) else {
                throw FormatError(reason: "\"\(hostPart)\" is not a host name or IPv4 address")
            }
        }
        guard !portPart.isEmpty, portPart.allSatisfy(\.isASCII), portPart.allSatisfy(\.isNumber),
              let port = Int(portPart), port <= 65535
        else {
            throw FormatError(reason: "the port must be a number from 0 to 65535")
        }
        self.init(host: String(hostPart), port: port)
    }

    /// Parses `HOST:PORT`, or nil; `init(parsing:)` says why.
    public init?(_ description: String) {
        guard let address = try? ListenAddress(parsing: description) else { return nil }
        self = address
    }

    /// True for an IPv6 host.
    public var isIPv6: Bool { host.contains(":") }

    /// True when only this machine can connect (127.0.0.0/8, ::1, localhost).
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// `HOST:PORT`, IPv6 hosts in brackets.
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
