// SPDX-License-Identifier: Apache-2.0
import CCurl
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `curl_global_init` runs exactly once per process: Swift initialises globals lazily under `swift_once`.
private let curlGlobalInitResult: CURLcode = ccurl_global_init_all()

/// Owns the `CURLM` and the thread that drives it.
///
/// Thread safety (why `@unchecked Sendable` is sound):
/// - `multi`, `epoll`, `transfers`, the timers and every easy handle are used only on the curl thread (the
///   socket and timer callbacks run inside `curl_multi_socket_action`/`curl_easy_pause`/`curl_multi_*_handle`,
///   all called on it), with one exception: writing to `wakeup` (an eventfd). That write happens only while
///   holding `inbox`'s lock and only while `inbox.stopped` is false; the curl thread sets `stopped` under
///   that same lock before closing the descriptors, so a wakeup can never write to a closed (or reused) one.
/// - Other threads communicate only through `inbox` (a `Mutex`) and the `Atomic` counters.
/// - `thread` is guarded by `joinState` (a `Mutex`).
final class CurlLoop: @unchecked Sendable {
    enum Command {
        case start(Transfer)
        case resume(Transfer)
        case cancel(Transfer)
    }

    struct Inbox {
        var commands: [Command] = []
        var shutdownRequested = false
        var stopped = false
        /// The curl thread is in (or about to enter) `epoll_wait` with no command left: the next
        /// submitter wakes it. While it is awake, submitters only queue (it takes the queue before it
        /// waits again), so a burst of commands costs one `eventfd` write, not one each.
        var waiting = false
        /// Told when each round ends (see ``UpstreamRoundListener``).
        var roundListener: (any UpstreamRoundListener)?
    }

    struct JoinState {
        var thread: pthread_t?
        var joined = false
    }

    let configuration: UpstreamTransport.Configuration
    let connectionsOpened = Atomic<Int>(0)
    let requestsInFlight = Atomic<Int>(0)

    private let multi: UnsafeMutableRawPointer
    /// The sockets libcurl asked to watch, plus `wakeup`.
    private let epoll: Int32
    /// Written by other threads (under `inbox`'s lock) to wake the curl thread.
    private let wakeup: Int32
    private let inbox = Mutex(Inbox())
    private let joinState = Mutex(JoinState())
    /// Curl thread only: active transfers by easy handle.
    private var transfers: [UnsafeMutableRawPointer: Transfer] = [:]
    /// Curl thread only: easy handles of finished transfers, already `curl_easy_reset`, for the next ones.
    /// Reusing a handle saves `curl_easy_init`/`curl_easy_cleanup` and their allocations on every request;
    /// connections live in the multi handle's pool either way. At most `maxIdleConnections` are kept.
    private var idleEasyHandles: [UnsafeMutableRawPointer] = []
    /// Curl thread only: when libcurl wants `curl_multi_socket_action(CURL_SOCKET_TIMEOUT)`; nil = never.
    private var curlTimerDue: UInt64?
    /// Curl thread only: sockets currently in the epoll set.
    private var watchedSockets: Set<Int32> = []
    /// Curl thread only: when the first-byte and idle deadlines are next checked.
    private var nextDeadlineCheck: UInt64 = 0
    /// The longest time between deadline checks: a transfer's deadline only becomes known once libcurl
    /// has sent its request, so new deadlines are noticed within this time.
    private static let deadlineCheckInterval: UInt64 = 50_000_000

    init(configuration: UpstreamTransport.Configuration) {
        precondition(curlGlobalInitResult == CURLE_OK, "curl_global_init failed: \(curlGlobalInitResult)")
        guard let multi = curl_multi_init() else { fatalError("curl_multi_init failed (out of memory)") }
        self.multi = multi
        self.configuration = configuration
        // Idle connections kept for reuse after their transfer ends (the keep-alive pool).
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, configuration.maxIdleConnections)
        // 0 = no per-host cap: never queue a request inside libcurl waiting for a connection slot.
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, configuration.maxConnectionsPerHost)
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeup = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        precondition(epoll >= 0 && wakeup >= 0, "epoll_create1/eventfd failed: errno \(errno)")
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = wakeup
        precondition(epoll_ctl(epoll, EPOLL_CTL_ADD, wakeup, &event) == 0, "epoll_ctl(eventfd) failed: errno \(errno)")
        // The socket interface. The callbacks' user pointer is unretained: the curl thread holds the loop
        // (retained in `startThread`) for as long as it runs, and only it calls into libcurl.
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = ccurl_multi_setopt_socket_function(multi) { _, socket, what, context, _ in
            Unmanaged<CurlLoop>.fromOpaque(context!).takeUnretainedValue().watch(socket, what)
            return 0
        }
        _ = ccurl_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, context)
        _ = ccurl_multi_setopt_timer_function(multi) { _, milliseconds, context in
            Unmanaged<CurlLoop>.fromOpaque(context!).takeUnretainedValue().setCurlTimer(milliseconds)
            return 0
        }
        _ = ccurl_multi_setopt_pointer(multi, CURLMOPT_TIMERDATA, context)
    }

    /// Starts the curl thread. Called once, right after `init`.
    func startThread() {
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { context in
            let loop = Unmanaged<CurlLoop>.fromOpaque(context!).takeRetainedValue()
            loop.run()
            return nil
        }, context)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        joinState.withLock { $0.thread = thread }
    }

    // MARK: Any thread

    /// Queues a command and wakes the curl thread. Returns false after shutdown was requested.
    @discardableResult
    func submit(_ command: Command) -> Bool {
        inbox.withLock { inbox in
            guard !inbox.shutdownRequested else { return false }
            inbox.commands.append(command)
            if inbox.waiting {
                inbox.waiting = false
                wake()
            }
            return true
        }
    }

    /// Sets the listener told when each round of the curl thread ends.
    func setRoundListener(_ listener: any UpstreamRoundListener) {
        inbox.withLock { $0.roundListener = listener }
    }

    func start(_ request: UpstreamRequest, sink: any UpstreamSink) -> UpstreamHandle {
        let transfer = Transfer(request: request, sink: sink)
        requestsInFlight.add(1, ordering: .relaxed)
        if !submit(.start(transfer)) {
            // The transport is shut down: there is no curl thread any more to call the sink on.
            requestsInFlight.subtract(1, ordering: .relaxed)
            transfer.isCompleted.store(true, ordering: .releasing)
            transfer.sink = nil
            sink.completed(.failure(.cancelled))
            inbox.withLock { $0.roundListener }?.upstreamRoundEnded()
        }
        return UpstreamHandle(transfer: transfer, loop: self)
    }

    func shutdown() {
        inbox.withLock { inbox in
            guard !inbox.shutdownRequested else { return }
            inbox.shutdownRequested = true
            if !inbox.stopped { wake() }
        }
        joinState.withLock { state in
            guard !state.joined, let thread = state.thread else { return }
            // Called from a sink on the curl thread: the loop exits once the callback returns; joining
            // ourselves would deadlock, so detach instead.
            if pthread_equal(thread, pthread_self()) != 0 {
                pthread_detach(thread)
            } else {
                pthread_join(thread, nil)
            }
            state.joined = true
        }
    }

    /// Wakes the curl thread. Only under `inbox`'s lock while `stopped` is false (see the type's comment).
    private func wake() {
        var one: UInt64 = 1
        _ = write(wakeup, &one, MemoryLayout<UInt64>.size)
    }

    // MARK: Curl thread

    private func run() {
        setThreadName(configuration.threadName)
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        while true {
            let (commands, shuttingDown, roundListener) = inbox.withLock { inbox in
                let commands = inbox.commands
                inbox.commands = []
                inbox.waiting = false
                return (commands, inbox.shutdownRequested, inbox.roundListener)
            }
            for command in commands {
                switch command {
                case .start(let transfer):
                    if shuttingDown {
                        complete(transfer, .failure(.cancelled))
                    } else {
                        begin(transfer)
                    }
                case .resume(let transfer):
                    resume(transfer)
                case .cancel(let transfer):
                    if transfer.easy != nil { finish(transfer, .failure(.cancelled)) }
                }
            }
            if shuttingDown { break }

            if let due = curlTimerDue, due <= monotonicNanoseconds() {
                curlTimerDue = nil
                var running: Int32 = 0
                _ = curl_multi_socket_action(multi, ccurl_socket_timeout, 0, &running)
            }
            drainCompletions()
            var timeout = checkDeadlines()
            roundListener?.upstreamRoundEnded()
            // Commands queued since the top of the round were not announced (`waiting` was false): take
            // them at once instead of sleeping on them.
            let mustPoll = inbox.withLock { inbox in
                if !inbox.commands.isEmpty || inbox.shutdownRequested { return true }
                inbox.waiting = true
                return false
            }
            if mustPoll { timeout = 0 }
            let count = epoll_wait(epoll, &events, Int32(events.count), timeout)
            for index in 0..<max(0, Int(count)) {
                let event = events[index]
                if event.data.fd == wakeup {
                    var value: UInt64 = 0
                    _ = read(wakeup, &value, MemoryLayout<UInt64>.size)
                    continue
                }
                var mask: Int32 = 0
                if event.events & EPOLLIN.rawValue != 0 { mask |= CURL_CSELECT_IN }
                if event.events & EPOLLOUT.rawValue != 0 { mask |= CURL_CSELECT_OUT }
                if event.events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 { mask |= CURL_CSELECT_ERR }
                var running: Int32 = 0
                _ = curl_multi_socket_action(multi, event.data.fd, mask, &running)
            }
            drainCompletions()
        }
        for transfer in Array(transfers.values) {
            finish(transfer, .failure(.cancelled))
        }
        inbox.withLock { $0.roundListener }?.upstreamRoundEnded()
        for easy in idleEasyHandles { curl_easy_cleanup(easy) }
        idleEasyHandles = []
        // After `stopped` is set no thread writes to `wakeup`, so the multi handle and descriptors can go. Its cleanup
        // also closes the idle connections in the keep-alive pool.
        inbox.withLock { $0.stopped = true }
        curl_multi_cleanup(multi)
        close(wakeup)
        close(epoll)
    }

    /// CURLMOPT_SOCKETFUNCTION: libcurl wants `socket` watched for `what` (or no longer watched).
    private func watch(_ socket: curl_socket_t, _ what: Int32) {
        if what == CURL_POLL_REMOVE {
            if watchedSockets.remove(socket) != nil { _ = epoll_ctl(epoll, EPOLL_CTL_DEL, socket, nil) }
            return
        }
        var event = epoll_event()
        event.events = (what & CURL_POLL_IN != 0 ? EPOLLIN.rawValue : 0) | (what & CURL_POLL_OUT != 0 ? EPOLLOUT.rawValue : 0)
        event.data.fd = socket
        // A descriptor libcurl closed without a REMOVE and that was reused: the kernel dropped it from the
        // set on close, so MOD fails with ENOENT and ADD is right (and the reverse for EEXIST).
        let (first, second) = watchedSockets.contains(socket) ? (EPOLL_CTL_MOD, EPOLL_CTL_ADD) : (EPOLL_CTL_ADD, EPOLL_CTL_MOD)
        if epoll_ctl(epoll, first, socket, &event) != 0 { _ = epoll_ctl(epoll, second, socket, &event) }
        watchedSockets.insert(socket)
    }

    /// CURLMOPT_TIMERFUNCTION: libcurl wants a timeout action in `milliseconds` (-1: cancel the timer).
    private func setCurlTimer(_ milliseconds: Int) {
        curlTimerDue = milliseconds < 0 ? nil : monotonicNanoseconds() + UInt64(milliseconds) * 1_000_000
    }

    /// Configures an easy handle (a reused one when there is one) and adds it to the multi handle.
    private func begin(_ transfer: Transfer) {
        guard let easy = idleEasyHandles.popLast() ?? curl_easy_init() else {
            complete(transfer, .failure(.transport(code: Int(CURLE_OUT_OF_MEMORY.rawValue),
                                                   message: "curl_easy_init failed")))
            return
        }
        transfer.easy = easy
        let code = configure(easy, for: transfer)
        if code != CURLE_OK {
            finish(transfer, .failure(Self.error(for: code, transfer: transfer)), added: false)
            return
        }
        let added = curl_multi_add_handle(multi, easy)
        if added != CURLM_OK {
            let message = String(cString: curl_multi_strerror(added))
            finish(transfer, .failure(.transport(code: Int(added.rawValue), message: message)), added: false)
            return
        }
        transfers[easy] = transfer
        nextDeadlineCheck = min(nextDeadlineCheck, monotonicNanoseconds() + Self.deadlineCheckInterval)
    }

    private func configure(_ easy: UnsafeMutableRawPointer, for transfer: Transfer) -> CURLcode {
        let request = transfer.request
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        var code = CURLE_OK
        func set(_ option: CURLoption, _ value: Int) {
            if code == CURLE_OK { code = ccurl_easy_setopt_long(easy, option, value) }
        }
        func set(_ option: CURLoption, _ value: String) {
            if code == CURLE_OK { code = ccurl_easy_setopt_string(easy, option, value) }
        }
        func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer?) {
            if code == CURLE_OK { code = ccurl_easy_setopt_pointer(easy, option, pointer) }
        }

        set(CURLOPT_URL, request.url)
        set(CURLOPT_PROTOCOLS_STR, "http,https")
        set(CURLOPT_NOSIGNAL, 1)  // several threads: libcurl must never use signals
        set(CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1))
        set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(transfer.errorBuffer))
        switch request.certificates {
        case .systemStore:
            break  // libcurl's defaults: the peer and its host name are checked against the system store
        case .caBundle(let path):
            set(CURLOPT_CAINFO, path)
        case .none:
            set(CURLOPT_SSL_VERIFYPEER, 0)
            set(CURLOPT_SSL_VERIFYHOST, 0)
        }

        // Connection behaviour and keep-alive.
        set(CURLOPT_CONNECTTIMEOUT_MS, request.timeouts.connect?.millisecondsForCurl ?? Int(Int32.max))
        set(CURLOPT_TCP_NODELAY, 1)
        set(CURLOPT_TCP_KEEPALIVE, 1)
        set(CURLOPT_TCP_KEEPIDLE, configuration.tcpKeepAliveIdleSeconds)
        set(CURLOPT_TCP_KEEPINTVL, configuration.tcpKeepAliveIntervalSeconds)
        set(CURLOPT_MAXAGE_CONN, configuration.maxIdleConnectionAgeSeconds)

        // Callbacks. The context is unretained: `transfers` keeps the transfer alive while the easy exists.
        if code == CURLE_OK {
            code = ccurl_easy_setopt_write_function(easy) { buffer, size, count, context in
                let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
                return transfer.bodyBytes(UnsafeRawBufferPointer(start: buffer, count: size * count))
            }
        }
        set(CURLOPT_WRITEDATA, pointer: context)
        if code == CURLE_OK {
            code = ccurl_easy_setopt_header_function(easy) { buffer, size, count, context in
                let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
                transfer.headerLine(UnsafeRawBufferPointer(start: buffer, count: size * count))
                return size * count
            }
        }
        set(CURLOPT_HEADERDATA, pointer: context)
        if code == CURLE_OK {
            code = ccurl_easy_setopt_prereq_function(easy) { context, _, _, _, _ in
                Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue().prerequest()
                return ccurl_prereqfunc_ok
            }
        }
        set(CURLOPT_PREREQDATA, pointer: context)

        // Method and body. The body is copied once into memory the transfer owns until cleanup, and handed
        // to libcurl without a second copy (CURLOPT_POSTFIELDS keeps the pointer; libcurl rewinds it itself
        // if it must resend on a fresh connection).
        let method = request.method.uppercased()
        let hasBody = !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(method)
        if hasBody {
            let body = UnsafeMutableRawBufferPointer.allocate(byteCount: max(request.body.count, 1), alignment: 1)
            request.body.withUnsafeBytes { body.copyMemory(from: $0) }
            transfer.body = body
            transfer.request.body = []  // the copy above is the only one kept
            if code == CURLE_OK {
                code = ccurl_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
            }
            set(CURLOPT_POSTFIELDS, pointer: body.baseAddress)
            if method != "POST" { set(CURLOPT_CUSTOMREQUEST, method) }
        } else if method == "HEAD" {
            set(CURLOPT_NOBODY, 1)
        } else if method == "GET" {
            set(CURLOPT_HTTPGET, 1)
        } else {
            set(CURLOPT_CUSTOMREQUEST, method)
        }

        // Headers. "Expect:" (empty) stops libcurl adding "Expect: 100-continue" to large bodies.
        // Each line is written into one reused buffer (libcurl copies it), not interpolated into a String.
        var list: UnsafeMutablePointer<curl_slist>?
        var sawExpect = false
        var line: [UInt8] = []
        for (name, value) in request.headers {
            if name.utf8.count == 6, name.lowercased() == "expect" { sawExpect = true }
            line.removeAll(keepingCapacity: true)
            line.append(contentsOf: name.utf8)
            if value.isEmpty {
                // "Name;" is libcurl's spelling of a header with an empty value ("Name:" would remove it).
                line.append(UInt8(ascii: ";"))
            } else {
                line.append(contentsOf: ": ".utf8)
                line.append(contentsOf: value.utf8)
            }
            line.append(0)
            list = line.withUnsafeBytes { curl_slist_append(list, $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
        }
        if !sawExpect { list = curl_slist_append(list, "Expect:") }
        transfer.headerList = list
        if code == CURLE_OK { code = ccurl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list) }
        return code
    }

    private func resume(_ transfer: Transfer) {
        transfer.resumeQueued.store(false, ordering: .sequentiallyConsistent)
        guard let easy = transfer.easy, transfer.paused else { return }
        transfer.paused = false
        // The idle clock restarts: time spent paused was the consumer's, not upstream's.
        transfer.lastByteAt = monotonicNanoseconds()
        // libcurl may call the write callback (re-delivering the refused bytes) before this returns.
        let code = curl_easy_pause(easy, ccurl_pause_cont)
        if code != CURLE_OK {
            finish(transfer, .failure(Self.error(for: code, transfer: transfer)))
        }
    }

    private func drainCompletions() {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            let code = message.pointee.data.result  // read before remove_handle invalidates `message`
            guard let transfer = transfers[easy] else { continue }
            if code == CURLE_OK {
                transfer.deliverHead()
                finish(transfer, .success(()))
            } else {
                finish(transfer, .failure(Self.error(for: code, transfer: transfer)))
            }
        }
    }

    /// Ends transfers whose first-byte or idle deadline has passed, when a check is due, and returns how
    /// long epoll may wait (ms): until libcurl's timer, the next known deadline or the next check.
    private func checkDeadlines() -> Int32 {
        let idleWaitMs: UInt64 = 60_000
        let now = monotonicNanoseconds()
        if transfers.isEmpty {
            nextDeadlineCheck = .max
        } else if now >= nextDeadlineCheck {
            var nearest = now + Self.deadlineCheckInterval
            var expired: [(Transfer, UpstreamError)] = []
            for transfer in transfers.values {
                guard let (deadline, error) = transfer.deadline() else { continue }
                if deadline <= now {
                    expired.append((transfer, error))
                } else {
                    nearest = min(nearest, deadline)
                }
            }
            for (transfer, error) in expired {
                finish(transfer, .failure(error))
            }
            nextDeadlineCheck = nearest
        }
        let wake = min(curlTimerDue ?? .max, nextDeadlineCheck)
        guard wake != .max else { return Int32(idleWaitMs) }
        guard wake > now else { return 0 }
        return Int32(min((wake - now + 999_999) / 1_000_000, idleWaitMs))
    }

    /// Removes the transfer from libcurl (closing its connection if the response was not complete), frees its
    /// curl resources, and delivers `completed`.
    private func finish(_ transfer: Transfer, _ result: Result<Void, UpstreamError>, added: Bool = true) {
        guard let easy = transfer.easy else { return }
        if added {
            _ = curl_multi_remove_handle(multi, easy)
            transfers[easy] = nil
        }
        var connects = 0
        if ccurl_easy_getinfo_long(easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK {
            connectionsOpened.add(connects, ordering: .relaxed)
        }
        if let easy = transfer.detachCurlResources() { recycle(easy) }
        complete(transfer, result)
    }

    /// Keeps a detached easy handle for the next transfer, reset to its defaults (so it holds no pointer
    /// into the finished transfer), or cleans it up when enough are kept. The handle is out of the multi
    /// handle already: `curl_multi_remove_handle` closed its connection if the response was incomplete.
    private func recycle(_ easy: UnsafeMutableRawPointer) {
        if idleEasyHandles.count < max(configuration.maxIdleConnections, 1) {
            curl_easy_reset(easy)
            idleEasyHandles.append(easy)
        } else {
            curl_easy_cleanup(easy)
        }
    }

    /// Marks the transfer completed and calls the sink. The only place `completed` is called on the curl
    /// thread; `transfer.sink` is cleared so it can never run twice.
    private func complete(_ transfer: Transfer, _ result: Result<Void, UpstreamError>) {
        guard let sink = transfer.sink else { return }
        transfer.sink = nil
        transfer.isCompleted.store(true, ordering: .releasing)
        requestsInFlight.subtract(1, ordering: .relaxed)
        sink.completed(result)
    }

    static func error(for code: CURLcode, transfer: Transfer) -> UpstreamError {
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            let detail = transfer.errorDetail
            return .connectFailed(detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        case CURLE_OPERATION_TIMEDOUT:
            // The only libcurl timeout this transport sets is CURLOPT_CONNECTTIMEOUT_MS; first-byte and idle
            // limits are enforced by `checkDeadlines`, so a libcurl timeout is always a connect timeout.
            return .connectTimeout
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM,
             CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS:
            // TLS failures: libcurl's own text names the cause ("SSL certificate problem: unable to get
            // local issuer certificate"), which the log must show.
            let detail = transfer.errorDetail
            return .transport(code: Int(code.rawValue), message: detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail)
        default:
            return .transport(code: Int(code.rawValue), message: String(cString: curl_easy_strerror(code)))
        }
    }
}

private func setThreadName(_ name: String) {
    ccurl_set_current_thread_name(name)
}
