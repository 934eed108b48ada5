// SPDX-License-Identifier: Apache-2.0
import ControlProtocol
import NIOConcurrencyHelpers

/// Request events for `sparkctl trace` readers, as varnishlog or HAProxy's event sink give them.
///
/// Publishing never waits: each reader has a queue of `queueCapacity(bodies:)` events; when it is full the
/// new event is dropped for that reader and counted, and the reader is told how many it missed.
/// With no reader, publishing costs one lock and callers skip building events (`isListening`).
public final class TraceHub: Sendable {
    /// Events held for one reader before new ones are dropped: 1024, or 64 for a reader of bodies
    /// (each body is up to 64 KiB, so that one stalled reader holds at most about 8 MiB).
    public static func queueCapacity(bodies: Bool) -> Int {
        bodies ? 64 : 1024
    }

    private struct Reader: Sendable {
        let alias: String?
        let bodies: Bool
        let continuation: AsyncStream<TraceEvent>.Continuation
        var dropped = 0
    }

    private struct State: Sendable {
        var readers: [Int: Reader] = [:]
        var nextID = 0
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// True while someone reads events of `alias` (an event with no alias reaches only readers of all).
    func isListening(alias: String?) -> Bool {
        state.withLockedValue { $0.readers.values.contains { $0.alias == nil || $0.alias == alias } }
    }

    /// True while someone reads bodies of `alias`'s requests.
    func wantsBodies(alias: String?) -> Bool {
        state.withLockedValue { $0.readers.values.contains { $0.bodies && ($0.alias == nil || $0.alias == alias) } }
    }

    /// Hands `event` to every reader it concerns: by alias, and `request`/`answer` events only to
    /// readers of bodies. Never blocks.
    public func publish(_ event: TraceEvent) {
        let isBody = event.event == .request || event.event == .answer
        let targets = state.withLockedValue { state in
            state.readers.filter { _, reader in
                (reader.alias == nil || reader.alias == event.alias) && (!isBody || reader.bodies)
            }.map { ($0.key, $0.value.continuation) }
        }
        for (id, continuation) in targets {
            if case .dropped = continuation.yield(event) {
                state.withLockedValue { $0.readers[id]?.dropped += 1 }
            }
        }
    }

    /// A new reader of the events of `alias` (nil: all), with bodies or not. It stays until its
    /// stream is cancelled or dropped.
    public func subscribe(alias: String?, bodies: Bool, capacity: Int? = nil) -> TraceSubscription {
        let capacity = capacity ?? Self.queueCapacity(bodies: bodies)
        let (stream, continuation) = AsyncStream<TraceEvent>.makeStream(bufferingPolicy: .bufferingOldest(max(1, capacity)))
        let id = state.withLockedValue { state in
            defer { state.nextID += 1 }
            state.readers[state.nextID] = Reader(alias: alias, bodies: bodies, continuation: continuation)
            return state.nextID
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLockedValue { $0.readers.removeValue(forKey: id) }
        }
        return TraceSubscription(events: stream, hub: self, id: id)
    }

    /// How many readers there are.
    var readerCount: Int { state.withLockedValue { $0.readers.count } }

    fileprivate func takeDropped(_ id: Int) -> Int {
        state.withLockedValue { state in
            defer { state.readers[id]?.dropped = 0 }
            return state.readers[id]?.dropped ?? 0
        }
    }
}

/// One reader's events, and how many it missed.
public struct TraceSubscription: Sendable {
    /// The events, oldest first.
    public let events: AsyncStream<TraceEvent>
    fileprivate let hub: TraceHub
    fileprivate let id: Int

    /// Events dropped since the last call because this reader's queue was full.
    public func takeDropped() -> Int {
        hub.takeDropped(id)
    }
}
