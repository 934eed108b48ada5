// SPDX-License-Identifier: Apache-2.0
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` on a new detached POSIX thread (blocking socket code must stay off Swift's cooperative pool).
func spawnThread(_ body: @escaping @Sendable () -> Void) {
    final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { context in
        Unmanaged<Box>.fromOpaque(context!).takeRetainedValue().body()
        return nil
    }, context)
    precondition(rc == 0, "pthread_create: \(rc)")
    pthread_detach(thread)
}

/// One parsed HTTP/1.1 request as the test server saw it.
struct ReceivedRequest: Sendable {
    var method: String
    var target: String
    var headers: [(String, String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// A deliberately small HTTP/1.1 server on raw POSIX sockets, bound to 127.0.0.1 on an ephemeral port.
/// One thread accepts; each connection gets its own thread that reads requests (Content-Length bodies only)
/// and calls `handler`, which writes the response itself through `ServerConnection` and returns whether to
/// keep the connection open for another request. All blocking calls wake every 20 ms to notice `stop()`.
final class TestHTTPServer: Sendable {
    typealias Handler = @Sendable (ReceivedRequest, ServerConnection) -> Bool

    let port: Int
    private let listenFD: Int32
    private let stopped = Atomic<Bool>(false)
    private let accepted = Atomic<Int>(0)
    private let requests = Mutex<[ReceivedRequest]>([])
    private let handler: Handler
    private let sendBufferSize: Int32?

    /// - Parameters:
    ///   - backlog: `listen` backlog.
    ///   - acceptConnections: when false nobody calls `accept` (used to fill the accept queue).
    ///   - sendBufferSize: SO_SNDBUF for accepted connections (small = backpressure shows up sooner).
    init(backlog: Int32 = 512, acceptConnections: Bool = true, sendBufferSize: Int32? = nil,
         handler: @escaping Handler = { _, _ in false }) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        precondition(bound == 0, "bind: \(errno)")
        precondition(listen(fd, backlog) == 0)
        self.listenFD = fd
        self.port = boundPort(of: fd)
        self.handler = handler
        self.sendBufferSize = sendBufferSize
        if acceptConnections {
            spawnThread { [self] in acceptLoop() }
        }
    }

    /// Connections accepted so far.
    var acceptedConnections: Int { accepted.load(ordering: .sequentiallyConsistent) }

    /// Requests read so far, in order.
    var receivedRequests: [ReceivedRequest] { requests.withLock { $0 } }

    var isStopped: Bool { stopped.load(ordering: .relaxed) }

    func url(_ path: String = "/") -> String { "http://127.0.0.1:\(port)\(path)" }

    func stop() {
        if stopped.exchange(true, ordering: .sequentiallyConsistent) { return }
        // The accept thread (if any) closes listenFD itself; otherwise close it here.
        if !acceptingThreadRuns.load(ordering: .sequentiallyConsistent) { close(listenFD) }
    }

    private let acceptingThreadRuns = Atomic<Bool>(false)

    private func acceptLoop() {
        acceptingThreadRuns.store(true, ordering: .sequentiallyConsistent)
        defer { close(listenFD) }
        while !isStopped {
            var pfd = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 20) > 0 else { continue }
            let fd = accept(listenFD, nil, nil)
            guard fd >= 0 else { continue }
            accepted.add(1, ordering: .sequentiallyConsistent)
            var timeout = timeval(tv_sec: 0, tv_usec: 20_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            if var size = sendBufferSize {
                setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            }
            let connection = ServerConnection(fd: fd, server: self)
            spawnThread { [self] in
                defer { connection.close() }
                while let request = connection.readRequest() {
                    requests.withLock { $0.append(request) }
                    if !handler(request, connection) { return }
                }
            }
        }
    }
}

/// The server side of one accepted connection. Used from that connection's thread only.
final class ServerConnection: @unchecked Sendable {
    private let fd: Int32
    private let server: TestHTTPServer
    private var buffer: [UInt8] = []
    private var closed = false

    init(fd: Int32, server: TestHTTPServer) {
        self.fd = fd
        self.server = server
    }

    func close() {
        guard !closed else { return }
        closed = true
        _ = Glibc.close(fd)
    }

    /// Reads one request; nil on EOF, error or server stop.
    func readRequest() -> ReceivedRequest? {
        let terminator: [UInt8] = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while headEnd == nil {
            if let range = firstRange(of: terminator, in: buffer) { headEnd = range; break }
            guard receiveMore() else { return nil }
        }
        let head = String(decoding: buffer[..<headEnd!], as: UTF8.self)
        buffer.removeFirst(headEnd! + 4)
        // "\r\n" is one Character (grapheme cluster) in Swift.
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        let headers: [(String, String)] = lines.compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: " "))
        }
        var request = ReceivedRequest(method: String(requestLine[0]), target: String(requestLine[1]),
                                      headers: headers, body: [])
        let length = Int(request.header("Content-Length") ?? "0") ?? 0
        while buffer.count < length {
            guard receiveMore() else { return nil }
        }
        request.body = Array(buffer[..<length])
        buffer.removeFirst(length)
        return request
    }

    private func receiveMore() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !server.isStopped {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[..<n])
                return true
            }
            if n == 0 { return false }
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
            return false
        }
        return false
    }

    /// Sends all bytes (blocking, in slices that wake for `stop()`). False when the peer is gone.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            if server.isStopped { return false }
            let n = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 { offset += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { continue }
            return false
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// A complete response with Content-Length.
    @discardableResult
    func respond(status: Int = 200, reason: String = "OK", headers: [(String, String)] = [], body: [UInt8]) -> Bool {
        var head = "HTTP/1.1 \(status) \(reason)\r\nContent-Length: \(body.count)\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        return send(head + "\r\n") && send(body)
    }

    /// Status line and headers of a chunked response.
    @discardableResult
    func startChunked(status: Int = 200, headers: [(String, String)] = []) -> Bool {
        var head = "HTTP/1.1 \(status) OK\r\nTransfer-Encoding: chunked\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        return send(head + "\r\n")
    }

    @discardableResult
    func sendChunk(_ bytes: [UInt8]) -> Bool {
        send(String(bytes.count, radix: 16) + "\r\n") && send(bytes) && send("\r\n")
    }

    @discardableResult
    func endChunked() -> Bool { send("0\r\n\r\n") }

    /// Waits until the client closes or resets the connection (recv returns 0 or an error); discards
    /// anything it sends. True if that happened before `timeout` seconds.
    func waitForPeerClose(timeout: Double = 10) -> Bool {
        let deadline = monotonicSeconds() + timeout
        var chunk = [UInt8](repeating: 0, count: 4096)
        while monotonicSeconds() < deadline && !server.isStopped {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 && !(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { return true }
        }
        return false
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func loopbackAddress(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
}

func boundPort(of fd: Int32) -> Int {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A blocking TCP connect to 127.0.0.1:port; returns the fd (caller closes) or -1.
func connectLoopback(port: Int) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = loopbackAddress(port: UInt16(port))
    let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    if rc != 0 { close(fd); return -1 }
    return fd
}

private func firstRange(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
        if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start }
    }
    return nil
}

extension String {
    fileprivate func trimmingCharacters(in character: Character) -> String {
        var s = Substring(self)
        while s.first == character { s.removeFirst() }
        while s.last == character { s.removeLast() }
        return String(s)
    }
}
