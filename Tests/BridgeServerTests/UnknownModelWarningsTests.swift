// SPDX-License-Identifier: Apache-2.0
import BridgeCore
@testable import BridgeServer
import Testing

@Suite("Unknown model warnings")
struct UnknownModelWarningsTests {
    @Test("once per name per interval; another name warns at once")
    func ratePerName() {
        let warnings = UnknownModelWarnings()
        let start = ContinuousClock.now
        #expect(warnings.shouldWarn("claude-opus-5-5", now: start))
        #expect(!warnings.shouldWarn("claude-opus-5-5", now: start + .seconds(1)))
        #expect(warnings.shouldWarn("gpt-4", now: start + .seconds(1)))
        #expect(warnings.shouldWarn("claude-opus-5-5", now: start + UnknownModelWarnings.interval + .seconds(1)))
    }

    @Test("bounded: a full table warns about no new name until old entries expire")
    func bounded() {
        let warnings = UnknownModelWarnings()
        let start = ContinuousClock.now
        for index in 0..<UnknownModelWarnings.capacity { #expect(warnings.shouldWarn("name-\(index)", now: start)) }
        #expect(!warnings.shouldWarn("one-too-many", now: start + .seconds(1)))
        #expect(warnings.shouldWarn("one-too-many", now: start + UnknownModelWarnings.interval + .seconds(1)))
    }

    @Test("the prompt-size calibration keeps at most its capacity, session before deployment")
    func calibrationBounded() {
        let calibration = PromptSizeCalibration()
        for index in 0..<(PromptSizeCalibration.capacity + 10) {
            calibration.record(.init(bodyBytes: 4000, promptTokens: 1000 + index), session: "s\(index)", deployment: "d")
        }
        #expect(calibration.count <= PromptSizeCalibration.capacity)
        #expect(calibration.sample(session: "s\(PromptSizeCalibration.capacity + 9)", deployment: "d")?.promptTokens == 1000 + PromptSizeCalibration.capacity + 9)
        #expect(calibration.sample(session: "never-seen", deployment: "d")?.promptTokens == 1000 + PromptSizeCalibration.capacity + 9)
        #expect(calibration.sample(session: nil, deployment: "other") == nil)
    }
}
