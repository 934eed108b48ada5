// SPDX-License-Identifier: Apache-2.0
import CCurl
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// State of one upstream request.
///
/// Thread safety (why `@unchecked Sendable` is sound): a `Transfer` is created on the caller's thread,
/// handed to the curl thread through the transport's mutex-protected inbox (the mutex orders the hand-off),
/// and from then on every `var` below — the easy handle, buffers, head parsing state, timers, the sink — is
/// read and written only on the curl thread (in command processing, libcurl callbacks, which libcurl runs
/// on the thread calling `curl_multi_socket_action`/`curl_easy_pause`, and completion). Other threads only hold
/// the reference (inside an `UpstreamHandle` or an inbox command) and touch only the `Atomic` flags.
final class Transfer: @unchecked Sendable {
    // MARK: Shared with other threads (atomics only)

    /// Set on the curl thread just before `completed` is delivered; read by `UpstreamHandle`.
    let isCompleted = Atomic<Bool>(false)
    /// A resume command is queued and not yet processed (coalesces repeated `resume()` calls).
    let resumeQueued = Atomic<Bool>(false)
    /// A cancel command is queued (makes `cancel()` idempotent without flooding the queue).
    let cancelQueued = Atomic<Bool>(false)

    // MARK: Curl-thread only

    var request: UpstreamRequest
    var sink: (any UpstreamSink)?
    var easy: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    var body: UnsafeMutableRawBufferPointer?
    let errorBuffer: UnsafeMutablePointer<CChar>

    var status = 0
    var headers: [(String, String)] = []
    var headDelivered = false
    /// The sink returned `.pause` and no resume has been processed since.
    var paused = false {
        didSet { pausedAt = paused ? monotonicNanoseconds() : nil }
    }
    /// Monotonic ns when the sink paused the transfer; nil while it is not paused.
    private(set) var pausedAt: UInt64?
    /// Monotonic ns when the transfer was made (the start of the total limit).
    let createdAt = monotonicNanoseconds()
    /// Monotonic ns when libcurl began sending the request on a connection (prereq callback).
    var requestStartedAt: UInt64?
    /// Monotonic ns of the last byte from upstream (header or body); nil before the first byte.
    var lastByteAt: UInt64?
    let firstByteLimit: UInt64?
    let idleLimit: UInt64?
    let totalLimit: UInt64?
    let pausedLimit: UInt64?

    init(request: UpstreamRequest, sink: any UpstreamSink) {
        self.request = request
        self.sink = sink
        self.firstByteLimit = request.timeouts.firstByte.map(\.nanosecondsClamped)
        self.idleLimit = request.timeouts.idle.map(\.nanosecondsClamped)
        self.totalLimit = request.timeouts.total.map(\.nanosecondsClamped)
        self.pausedLimit = request.timeouts.paused.map(\.nanosecondsClamped)
        self.errorBuffer = .allocate(capacity: Int(ccurl_error_size))
        self.errorBuffer.initialize(repeating: 0, count: Int(ccurl_error_size))
    }

    deinit {
        // Normally released by `detachCurlResources()` on the curl thread; this covers transfers that
        // never reached it (rejected after shutdown).
        errorBuffer.deallocate()
        body?.deallocate()
    }

    /// Frees the header list and body libcurl referenced and hands back the easy handle, which the caller
    /// resets for reuse or cleans up. Curl thread only, after `curl_multi_remove_handle`.
    func detachCurlResources() -> UnsafeMutableRawPointer? {
        let detached = easy
        easy = nil
        if let headerList { curl_slist_free_all(headerList) }
        headerList = nil
        body?.deallocate()
        body = nil
        return detached
    }

    /// The next deadline of this transfer and the error it produces, if any: the earliest of the
    /// total limit, the paused limit (while paused) and the phase's own limit.
    func deadline() -> (at: UInt64, error: UpstreamError)? {
        var candidates: [(at: UInt64, error: UpstreamError)] = []
        if let totalLimit { candidates.append((createdAt.addingClamped(totalLimit), .totalTimeout)) }
        if let pausedAt, let pausedLimit { candidates.append((pausedAt.addingClamped(pausedLimit), .consumerStalled)) }
        if let phase = phaseDeadline() { candidates.append(phase) }
        return candidates.min { $0.at < $1.at }
    }

    /// The first-byte or idle deadline of the phase the transfer is in.
    private func phaseDeadline() -> (at: UInt64, error: UpstreamError)? {
        if let lastByteAt {
            // Streaming: only the idle limit applies, and never while the sink holds the transfer paused.
            guard !paused, let idleLimit else { return nil }
            return (lastByteAt.addingClamped(idleLimit), .idleTimeout)
        }
        if let requestStartedAt, let firstByteLimit {
            return (requestStartedAt.addingClamped(firstByteLimit), .firstByteTimeout)
        }
        return nil
    }

    var errorDetail: String {
        String(cString: errorBuffer)
    }

    // MARK: libcurl callbacks (curl thread)

    func prerequest() {
        requestStartedAt = monotonicNanoseconds()
        lastByteAt = nil
    }

    /// CURLOPT_HEADERFUNCTION: one complete header line per call, including its CRLF.
    ///
    /// Read as bytes (HTTP header syntax is ASCII); only names and values become strings. Working on
    /// `Character`s cost more per request than the rest of the transfer's own code.
    func headerLine(_ bytes: UnsafeRawBufferPointer) {
        lastByteAt = monotonicNanoseconds()
        if headDelivered { return }  // trailers after a chunked body: not delivered
        var end = bytes.count
        while end > 0, Self.isLineBreak(bytes[end - 1]) { end -= 1 }
        let line = UnsafeRawBufferPointer(rebasing: bytes[..<end])
        if line.isEmpty {
            // End of a header block. Interim responses (100 Continue, 103 Early Hints) are followed by the
            // real one: forget them.
            if status >= 100 && status < 200 && status != 101 {
                status = 0
                headers = []
            } else {
                deliverHead()
            }
            return
        }
        if line.starts(with: "HTTP/".utf8) {
            // `HTTP/1.1 200 OK`: the status is the second space-separated field.
            status = Self.statusCode(line)
            headers = []
            headers.reserveCapacity(8)
            return
        }
        if Self.isHTTPWhitespace(line[0]), !headers.isEmpty {
            // Obsolete line folding: continuation of the previous header's value.
            headers[headers.count - 1].1 += " " + Self.trimmedString(line[...])
            return
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
        headers.append((Self.trimmedString(line[..<colon]), Self.trimmedString(line[(colon + 1)...])))
    }

    private static func isLineBreak(_ byte: UInt8) -> Bool {
        byte == 0x0A || byte == 0x0D || byte == 0x0B || byte == 0x0C
    }

    private static func isHTTPWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }

    /// The bytes without leading and trailing spaces and tabs, as a string (invalid UTF-8 repaired).
    private static func trimmedString(_ bytes: Slice<UnsafeRawBufferPointer>) -> String {
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, isHTTPWhitespace(bytes[start]) { start += 1 }
        while end > start, isHTTPWhitespace(bytes[end - 1]) { end -= 1 }
        return String(decoding: bytes.base[start..<end], as: UTF8.self)
    }

    /// The status of a status line (`HTTP/1.1 200 OK`): its second space-separated field as a decimal
    /// number, 0 when there is none or it is not one. Read in place, without splitting the line.
    static func statusCode(_ line: UnsafeRawBufferPointer) -> Int {
        guard var start = line.firstIndex(of: UInt8(ascii: " ")) else { return 0 }
        while start < line.endIndex, line[start] == UInt8(ascii: " ") { start += 1 }
        var end = start
        while end < line.endIndex, line[end] != UInt8(ascii: " ") { end += 1 }
        return decimal(line[start..<end]) ?? 0
    }

    /// A number of 1 to 9 decimal digits, nothing else; nil otherwise.
    private static func decimal(_ bytes: Slice<UnsafeRawBufferPointer>) -> Int? {
        guard (1...9).contains(bytes.count) else { return nil }
        var value = 0
        for byte in bytes {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// CURLOPT_WRITEFUNCTION. Returns what libcurl expects: the byte count, or CURL_WRITEFUNC_PAUSE.
    func bodyBytes(_ bytes: UnsafeRawBufferPointer) -> Int {
        lastByteAt = monotonicNanoseconds()
        if bytes.isEmpty { return 0 }
        if !headDelivered { deliverHead() }
        guard let sink else { return bytes.count }
        switch sink.receivedBody(bytes) {
        case .continue:
            return bytes.count
        case .pause:
            paused = true
            return Int(ccurl_writefunc_pause)
        }
    }

    /// Delivers the head once. Also used when a transfer completes (or body arrives) without a header block
    /// having been seen, with the status libcurl recorded.
    func deliverHead() {
        guard !headDelivered else { return }
        headDelivered = true
        if status == 0, let easy {
            var code = 0
            _ = ccurl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code)
            status = code
        }
        let headers = self.headers
        self.headers = []
        sink?.receivedHead(status: status, headers: headers)
    }
}

extension Duration {
    /// Whole nanoseconds, clamped to [0, UInt64.max].
    var nanosecondsClamped: UInt64 {
        let (seconds, attoseconds) = components
        if seconds < 0 { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let (sum, overflow2) = whole.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000))
        return overflow2 ? .max : sum
    }

    /// Whole milliseconds (rounded up so a tiny positive limit is not "no limit"), clamped to `Int` for libcurl.
    var millisecondsForCurl: Int {
        let ns = nanosecondsClamped
        let ms = ns / 1_000_000 + (ns % 1_000_000 == 0 ? 0 : 1)
        return Int(min(ms, UInt64(Int32.max)))
    }
}

extension UInt64 {
    /// `self + other`, or `.max` when that would overflow (a limit of "forever" never wraps to the past).
    func addingClamped(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}

/// CLOCK_MONOTONIC in nanoseconds.
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}
