// SPDX-License-Identifier: Apache-2.0
import BridgeConfig
import ControlProtocol
import Foundation
import Testing
@testable import BridgeServer

/// Hysteresis and suspicion: how check and request results move a backend between unknown, up and down.
@Suite("backend health record")
struct BackendHealthRecordTests {
    private func settings(failures: Int = 2, successes: Int = 1) -> HealthSettings {
        var settings = HealthSettings()
        settings.failuresBeforeDown = failures
        settings.successesBeforeUp = successes
        return settings
    }

    private let models = [BackendModel(id: "m", maxModelLen: 4096)]

    @Test("down only after failures_before_down consecutive failures, and the change is reported once")
    func downAfterConsecutiveFailures() {
        var record = BackendHealthRecord()
        let settings = settings(failures: 3)
        #expect(record.checkSucceeded(at: Date(), latencyMs: 1, models: models, settings: settings) == .init(from: .unknown, to: .up))
        #expect(record.checkFailed(at: Date(), error: "e1", settings: settings) == nil)
        #expect(record.checkFailed(at: Date(), error: "e2", settings: settings) == nil)
        #expect(record.checkSucceeded(at: Date(), latencyMs: 1, models: models, settings: settings) == nil)
        #expect(record.checkFailed(at: Date(), error: "e3", settings: settings) == nil)
        #expect(record.checkFailed(at: Date(), error: "e4", settings: settings) == nil)
        #expect(record.checkFailed(at: Date(), error: "e5", settings: settings) == .init(from: .up, to: .down))
        #expect(record.checkFailed(at: Date(), error: "e6", settings: settings) == nil)
        #expect(record.state == .down)
        #expect(record.lastError == "e6")
    }

    @Test("up only after successes_before_up consecutive successes; a success clears the error")
    func upAfterConsecutiveSuccesses() {
        var record = BackendHealthRecord()
        let settings = settings(failures: 1, successes: 2)
        #expect(record.checkFailed(at: Date(), error: "refused", settings: settings) == .init(from: .unknown, to: .down))
        #expect(record.checkSucceeded(at: Date(), latencyMs: 3, models: models, settings: settings) == nil)
        #expect(record.lastError == nil)
        #expect(record.checkFailed(at: Date(), error: "refused", settings: settings) == nil)
        #expect(record.checkSucceeded(at: Date(), latencyMs: 3, models: models, settings: settings) == nil)
        #expect(record.checkSucceeded(at: Date(), latencyMs: 3, models: models, settings: settings) == .init(from: .down, to: .up))
        #expect(record.models == models)
        #expect(record.latencyMs == 3)
    }

    @Test("a request that succeeds on a backend marked down (panic mode) marks it up at once")
    func requestSuccessBringsBackUp() {
        var record = BackendHealthRecord()
        let settings = settings(failures: 1, successes: 3)
        #expect(record.checkFailed(at: Date(), error: "refused", settings: settings) == .init(from: .unknown, to: .down))
        #expect(record.requestSucceeded() == .init(from: .down, to: .up))
        #expect(record.state == .up)
        #expect(record.lastError == nil)
        #expect(record.requestSucceeded() == nil)
    }

    @Test("a failed request makes the backend suspect and counts toward down; a good check clears it")
    func requestFailures() {
        var record = BackendHealthRecord()
        let settings = settings(failures: 2)
        _ = record.checkSucceeded(at: Date(), latencyMs: 1, models: models, settings: settings)
        record.warm = true
        #expect(record.requestFailed(error: "HTTP 500", settings: settings) == nil)
        #expect(record.suspect)
        #expect(record.checkSucceeded(at: Date(), latencyMs: 1, models: models, settings: settings) == nil)
        #expect(!record.suspect)
        #expect(record.requestFailed(error: "HTTP 500", settings: settings) == nil)
        #expect(record.requestSucceeded() == nil)
        #expect(!record.suspect)
        #expect(record.requestFailed(error: "HTTP 500", settings: settings) == nil)
        #expect(record.requestFailed(error: "reset", settings: settings) == .init(from: .up, to: .down))
        #expect(!record.warm)
    }
}
