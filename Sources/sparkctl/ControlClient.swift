// SPDX-License-Identifier: Apache-2.0
import ControlProtocol
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A blocking client for the control socket: one request, one response line, within a deadline.
struct ControlClient {
    /// The socket's path.
    let path: String

    /// Sends `request` and returns the response line (without its newline).
    func exchange(_ request: ControlRequest, timeout: Duration) throws(ClientError) -> [UInt8] {
        let fd = try connectSocket()
        defer { close(fd) }
        try sendAll(fd, Array(request.encodedLine()))
        var reader = LineReader(fd: fd, path: path)
        guard let line = try reader.next(timeout: timeout) else {
            throw .failed("spark-bridge closed the control connection without answering")
        }
        return line
    }

    /// Sends `request` and hands each line the daemon sends to `onLine` (the first within
    /// `firstLineTimeout`, the others whenever they come) until `onLine` returns false or the
    /// daemon closes the connection.
    func stream(_ request: ControlRequest, firstLineTimeout: Duration, onLine: ([UInt8]) throws(ClientError) -> Bool) throws(ClientError) {
        let fd = try connectSocket()
        defer { close(fd) }
        try sendAll(fd, Array(request.encodedLine()))
        var reader = LineReader(fd: fd, path: path)
        guard let first = try reader.next(timeout: firstLineTimeout) else {
            throw .failed("spark-bridge closed the control connection without answering")
        }
        guard try onLine(first) else { return }
        while let line = try reader.next(timeout: nil) {
            guard try onLine(line) else { return }
        }
    }

    private func connectSocket() throws(ClientError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw .failed("\(path): the socket path is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .failed("socket: \(String(cString: strerror(errno)))") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            switch code {
            case ENOENT, ENOTDIR:
                throw .notRunning("\(path): no such socket")
            case ECONNREFUSED:
                throw .notRunning("\(path): connection refused")
            case EACCES, EPERM:
                throw .failed("\(path): permission denied; sparkctl must run as root, as the daemon's user or in the control_socket_group")
            default:
                throw .failed("\(path): \(String(cString: strerror(code)))")
            }
        }
        return fd
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws(ClientError) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                if errno == EINTR { continue }
                // A daemon that refuses the peer answers and closes at once; its answer is still readable.
                if errno == EPIPE || errno == ECONNRESET { return }
                throw .failed("\(path): write failed: \(String(cString: strerror(errno)))")
            }
            sent += count
        }
    }
}

/// Reads newline-terminated lines from a socket, keeping what follows a line for the next call.
struct LineReader {
    let fd: Int32
    /// The socket's path, for messages.
    let path: String
    /// The longest line accepted: a trace event carries at most a 64 KiB body, escaped.
    static let maxLineBytes = 1 << 20
    private var pending: [UInt8] = []
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    /// The next line without its newline, or nil when the daemon closed the connection at a line
    /// boundary. Waits up to `timeout` (nil: for ever).
    mutating func next(timeout: Duration?) throws(ClientError) -> [UInt8]? {
        let deadline = timeout.map { ContinuousClock.now + $0 }
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                return line
            }
            guard pending.count <= Self.maxLineBytes else { throw .failed("\(path): an answer line is longer than \(Self.maxLineBytes) bytes") }
            var milliseconds: Int32 = -1
            if let deadline {
                let remaining = ContinuousClock.now.duration(to: deadline)
                guard remaining > .zero else { throw .failed("no answer from spark-bridge within \(timeout?.seconds ?? 0) s") }
                milliseconds = Int32(clamping: remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000 + 1)
            }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, milliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                throw .failed("poll: \(String(cString: strerror(errno)))")
            }
            if ready == 0 { continue }
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw .failed("\(path): read failed: \(String(cString: strerror(errno)))")
            }
            if count == 0 {
                guard pending.isEmpty else { throw .failed("spark-bridge closed the control connection in the middle of a line") }
                return nil
            }
            pending += chunk[..<count]
        }
    }
}

/// Why talking to the daemon failed.
enum ClientError: Error {
    /// No daemon: the socket is missing or nobody accepts on it (exit 3).
    case notRunning(String)
    /// Anything else (exit 1).
    case failed(String)
}

extension Duration {
    /// Whole seconds, for messages.
    var seconds: Int64 { components.seconds }
}
