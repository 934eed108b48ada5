// SPDX-License-Identifier: Apache-2.0
import BridgeUpstream
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A sink that records everything it is told. `decide` (called under the sink's lock, on the curl thread)
/// chooses `.continue` or `.pause` for each offered buffer; accepted bytes are appended to `body`.
final class RecordingSink: UpstreamSink {
    enum Event: Equatable, Sendable {
        case head(Int)
        case body(Int)
        case completed
    }

    struct State {
        var events: [Event] = []
        var status: Int?
        var headers: [(String, String)] = []
        var body: [UInt8] = []
        var bodyCalls = 0
        /// Each accepted buffer, when `keepPieces` is set.
        var pieces: [[UInt8]] = []
        var completions: [Result<Void, UpstreamError>] = []
        var headCalls = 0
        /// Free-form fields for test policies.
        var holding = false
        var callsWhileHolding = 0
        var pauses = 0
        var refused: [UInt8]?
        var redeliveryMismatches = 0
        var calledAfterCompletion = 0
    }

    typealias Decide = @Sendable (UnsafeRawBufferPointer, inout State) -> UpstreamSinkDecision

    let state = Mutex(State())
    private let keepPieces: Bool
    private let decide: Decide?
    private let onHead: (@Sendable () -> Void)?
    private let onBody: (@Sendable () -> Void)?

    init(keepPieces: Bool = false, decide: Decide? = nil,
         onHead: (@Sendable () -> Void)? = nil, onBody: (@Sendable () -> Void)? = nil) {
        self.keepPieces = keepPieces
        self.onHead = onHead
        self.onBody = onBody
        self.decide = decide
    }

    func receivedHead(status: Int, headers: [(String, String)]) {
        state.withLock {
            if !$0.completions.isEmpty { $0.calledAfterCompletion += 1 }
            $0.headCalls += 1
            $0.status = status
            $0.headers = headers
            $0.events.append(.head(status))
        }
        onHead?()
    }

    func receivedBody(_ bytes: UnsafeRawBufferPointer) -> UpstreamSinkDecision {
        let decision = state.withLock { state -> UpstreamSinkDecision in
            if !state.completions.isEmpty { state.calledAfterCompletion += 1 }
            state.bodyCalls += 1
            if state.holding { state.callsWhileHolding += 1 }
            let decision = decide?(bytes, &state) ?? .continue
            if decision == .continue {
                state.body.append(contentsOf: bytes)
                if keepPieces { state.pieces.append(Array(bytes)) }
                state.events.append(.body(bytes.count))
            }
            return decision
        }
        onBody?()
        return decision
    }

    func completed(_ result: Result<Void, UpstreamError>) {
        state.withLock {
            $0.completions.append(result)
            $0.events.append(.completed)
        }
    }

    var result: Result<Void, UpstreamError>? { state.withLock { $0.completions.first } }
    var completionCount: Int { state.withLock { $0.completions.count } }
    var isCompleted: Bool { completionCount > 0 }
    var body: [UInt8] { state.withLock { $0.body } }
    var bodyText: String { String(decoding: body, as: UTF8.self) }
    var status: Int? { state.withLock { $0.status } }
    var events: [Event] { state.withLock { $0.events } }

    func header(_ name: String) -> String? {
        state.withLock { $0.headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    /// The error the request completed with, nil on success or before completion.
    var error: UpstreamError? {
        if case .failure(let error) = result { return error }
        return nil
    }

    var succeeded: Bool {
        if case .success = result { return true }
        return false
    }
}

/// Polls `condition` until it holds or `timeout` passes (the only use of wall-clock time in the tests:
/// generous upper bounds, never a lower bound or an exact duration).
func eventually(timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return true
}

/// Deterministic bytes where every 8-byte word is distinct, so a lost, duplicated or reordered range shows.
func patternBytes(count: Int, seed: UInt64 = 1) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { raw in
        for word in 0..<(count / 8) {
            let value = (UInt64(word) &+ seed) &* 0x9E37_79B9_7F4A_7C15
            raw.storeBytes(of: value.littleEndian, toByteOffset: word * 8, as: UInt64.self)
        }
        for index in (count / 8 * 8)..<count { raw[index] = UInt8(truncatingIfNeeded: index) }
    }
    return bytes
}

/// Byte-for-byte equality via memcmp (fast even in debug builds).
func sameBytes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    if a.isEmpty { return true }
    return a.withUnsafeBytes { x in b.withUnsafeBytes { y in memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
}

/// A one-shot signal between threads, waited on with a timeout.
final class Signal: Sendable {
    private let fired = Atomic<Bool>(false)

    func fire() { fired.store(true, ordering: .sequentiallyConsistent) }
    var isFired: Bool { fired.load(ordering: .sequentiallyConsistent) }

    /// Blocking wait for server threads. True if fired within `timeout` seconds.
    func wait(timeout: Double = 10) -> Bool {
        let deadline = monotonicSeconds() + timeout
        while !isFired {
            if monotonicSeconds() >= deadline { return false }
            usleep(1000)
        }
        return true
    }
}

/// A value set once after creation and read from other threads (e.g. a handle a sink needs).
final class Later<Value: Sendable>: Sendable {
    private let storage = Mutex<Value?>(nil)
    func set(_ value: Value) { storage.withLock { $0 = value } }
    var value: Value? { storage.withLock { $0 } }
}

/// A shared atomic counter.
final class Counter: Sendable {
    private let storage = Atomic<Int>(0)
    func add(_ amount: Int) { storage.add(amount, ordering: .sequentiallyConsistent) }
    var value: Int { storage.load(ordering: .sequentiallyConsistent) }
}
