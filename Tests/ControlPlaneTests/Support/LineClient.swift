// SPDX-License-Identifier: Apache-2.0
import ControlProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A raw, blocking control-socket client for tests: writes bytes as given, reads response lines.
/// Use it through `onOwnThread`.
final class LineClient: Sendable {
    let fd: Int32

    /// Connects to `path`; throws the `errno` of a failed connect.
    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if result != 0 {
            let code = errno
            close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        // A bound on a hang, not a speed requirement: under a full parallel `swift test` on 2 cores the
        // cooperative pool the server answers from can be held for seconds by other suites' blocking waits,
        // and 10 s was seen to run out (EAGAIN) in loaded runs of tests that pass alone.
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func write(_ text: String) throws { try write(Array(text.utf8)) }

    func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            sent += count
        }
    }

    /// No more requests: the server sees end of file.
    func finishWriting() { shutdown(fd, Int32(SHUT_WR)) }

    /// The next line, without its newline; nil at end of file.
    func readLine() throws -> [UInt8]? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = recv(fd, &byte, 1, 0)
            if count < 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            if count == 0 { return line.isEmpty ? nil : line }
            if byte == UInt8(ascii: "\n") { return line }
            line.append(byte)
        }
    }

    /// Sends `text` plus a newline and reads the response line as `Payload`'s response.
    func ask<Payload: Codable & Sendable>(_ text: String, as _: Payload.Type = NoPayload.self) throws -> ControlResponse<Payload> {
        try write(text + "\n")
        guard let line = try readLine() else { throw POSIXError(.ECONNRESET) }
        return try ControlResponse<Payload>.decode(line)
    }
}
