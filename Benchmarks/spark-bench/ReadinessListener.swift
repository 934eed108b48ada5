// SPDX-License-Identifier: Apache-2.0
import Foundation

/// The receiving end of `NOTIFY_SOCKET`, as systemd holds it: a datagram socket that records when
/// `READY=1` arrives.
final class ReadinessListener {
    let path: String
    private let descriptor: Int32

    init(path: String) throws {
        self.path = path
        unlink(path)
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw BenchError("socket(AF_UNIX) failed: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { throw BenchError("notify socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw BenchError("bind(\(path)) failed: errno \(errno)") }
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// Waits until a datagram containing the line `READY=1` arrives; returns when (monotonic ns).
    func awaitReady(timeout: TimeInterval = 30) throws -> UInt64 {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let waitMilliseconds = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&poller, 1, waitMilliseconds) > 0 else { continue }
            let count = recv(descriptor, &buffer, buffer.count, 0)
            let received = DispatchTime.now().uptimeNanoseconds
            guard count > 0 else { continue }
            let message = String(decoding: buffer[0..<count], as: UTF8.self)
            if message.split(separator: "\n").contains("READY=1") { return received }
        }
        throw BenchError("no READY=1 on \(path) within \(Int(timeout)) s")
    }
}
