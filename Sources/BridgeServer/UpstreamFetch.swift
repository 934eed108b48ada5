// SPDX-License-Identifier: Apache-2.0
import BridgeUpstream
import NIOConcurrencyHelpers

/// A whole, small upstream response: what health checks and warmups need.
struct FetchedResponse: Sendable, Equatable {
    var status: Int
    var body: [UInt8]
    /// The body was longer than the fetch's limit and was cut.
    var truncated: Bool
}

/// One upstream request awaited as a whole, over the shared ``UpstreamTransport`` (no other HTTP client).
/// Cancelling the awaiting task cancels the transfer at once, so a monitor that stops is not held up by a
/// slow backend.
enum UpstreamFetch {
    /// Sends `request` and collects its response, keeping at most `maximumBytes` of the body.
    static func fetch(_ request: UpstreamRequest, on transport: UpstreamTransport, maximumBytes: Int = 1 << 20) async -> Result<FetchedResponse, UpstreamError> {
        let cancellation = Cancellation()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let sink = CollectingSink(maximumBytes: maximumBytes, continuation: continuation)
                cancellation.attach(transport.start(request, sink: sink))
            }
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// The handle of the transfer and whether the task was cancelled, whichever came first.
    private final class Cancellation: Sendable {
        private let state = NIOLockedValueBox<(handle: UpstreamHandle?, cancelled: Bool)>((nil, false))

        func attach(_ handle: UpstreamHandle) {
            let cancelled = state.withLockedValue { state in
                state.handle = handle
                return state.cancelled
            }
            if cancelled { handle.cancel() }
        }

        func cancel() {
            state.withLockedValue { state in
                state.cancelled = true
                return state.handle
            }?.cancel()
        }
    }

    /// Collects the status and body on the curl thread and resumes the waiting task on completion.
    private final class CollectingSink: UpstreamSink {
        private struct Collected {
            var status = 0
            var body: [UInt8] = []
            var truncated = false
            var continuation: CheckedContinuation<Result<FetchedResponse, UpstreamError>, Never>?
        }

        private let maximumBytes: Int
        private let collected: NIOLockedValueBox<Collected>

        init(maximumBytes: Int, continuation: CheckedContinuation<Result<FetchedResponse, UpstreamError>, Never>) {
            self.maximumBytes = maximumBytes
            collected = NIOLockedValueBox(Collected(continuation: continuation))
        }

        func receivedHead(status: Int, headers: [(String, String)]) {
            collected.withLockedValue { $0.status = status }
        }

        func receivedBody(_ bytes: UnsafeRawBufferPointer) -> UpstreamSinkDecision {
            collected.withLockedValue { collected in
                let room = maximumBytes - collected.body.count
                if bytes.count > room { collected.truncated = true }
                if room > 0 { collected.body.append(contentsOf: bytes.prefix(room)) }
            }
            return .continue
        }

        func completed(_ result: Result<Void, UpstreamError>) {
            let (continuation, outcome) = collected.withLockedValue { collected in
                defer { collected.continuation = nil }
                let outcome = result.map { FetchedResponse(status: collected.status, body: collected.body, truncated: collected.truncated) }
                return (collected.continuation, outcome)
            }
            continuation?.resume(returning: outcome)
        }
    }
}
