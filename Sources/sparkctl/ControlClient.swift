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
        let deadline = ContinuousClock.now + timeout
        let fd = try connectSocket()
        defer { close(fd) }
        try sendAll(fd, Array(request.encodedLine()))
        return try readLine(fd, deadline: deadline, timeout: timeout)
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

    private func readLine(_ fd: Int32, deadline: ContinuousClock.Instant, timeout: Duration) throws(ClientError) -> [UInt8] {
        var line: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { throw .failed("no answer from spark-bridge within \(timeout.seconds) s") }
            let milliseconds = Int32(clamping: remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000 + 1)
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
                throw .failed("spark-bridge closed the control connection without answering")
            }
            if let newline = chunk[..<count].firstIndex(of: UInt8(ascii: "\n")) {
                line += chunk[..<newline]
                return line
            }
            line += chunk[..<count]
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
