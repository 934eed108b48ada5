// SPDX-License-Identifier: Apache-2.0
import BridgeCore
import NIOConcurrencyHelpers

/// The last prompt size each Claude Code session (and each deployment) was told by its backend, next
/// to the size of the body that produced it: what ``PromptSizeEstimate`` scales the next body by.
///
/// Bounded: at most ``capacity`` keys; the oldest is forgotten first.
final class PromptSizeCalibration: Sendable {
    static let capacity = 4096

    private struct State {
        var samples: [String: PromptSizeEstimate.Sample] = [:]
        /// Keys in the order they were first stored.
        var order: [String] = []
    }

    private let state = NIOLockedValueBox(State())

    /// The sample for the session when there is one, else for the deployment.
    func sample(session: String?, deployment: String) -> PromptSizeEstimate.Sample? {
        state.withLockedValue { state in
            session.flatMap { state.samples[Self.sessionKey($0, deployment)] } ?? state.samples[deployment]
        }
    }

    /// The backend counted `promptTokens` for a body of `bodyBytes` bytes.
    func record(_ sample: PromptSizeEstimate.Sample, session: String?, deployment: String) {
        guard sample.bodyBytes > 0, sample.promptTokens > 0 else { return }
        state.withLockedValue { state in
            for key in [session.map { Self.sessionKey($0, deployment) }, deployment].compactMap({ $0 }) {
                if state.samples.updateValue(sample, forKey: key) == nil {
                    state.order.append(key)
                    if state.order.count > Self.capacity {
                        state.samples[state.order.removeFirst()] = nil
                    }
                }
            }
        }
    }

    var count: Int { state.withLockedValue { $0.samples.count } }

    private static func sessionKey(_ session: String, _ deployment: String) -> String {
        "\(deployment)\u{0}\(session)"
    }
}
