// SPDX-License-Identifier: Apache-2.0
@testable import BridgeServer
import BridgeUpstream
import Testing

/// The upstream call's flow control without a transfer or a loop: batching of deliveries, the pause
/// past the pending-bytes bound or for a client that cannot take bytes, and the resume.
@Suite("Upstream flow state machine")
struct UpstreamFlowStateMachineTests {
    typealias Machine = UpstreamFlowStateMachine

    static func offer(_ machine: inout Machine, _ bytes: [UInt8], writable: Bool = true) -> Machine.BodyAction {
        bytes.withUnsafeBytes { machine.bodyReceived($0, clientWritable: writable) }
    }

    /// The deliveries as text, for comparing.
    static func describe(_ deliveries: [Machine.Delivery]) -> [String] {
        deliveries.map { delivery in
            switch delivery {
            case .head(let status, _): "head \(status)"
            case .body(let bytes): "body \(bytes)"
            case .completed(.success): "end ok"
            case .completed(.failure(let error)): "end \(error)"
            }
        }
    }

    @Test("head, bytes and end received before the loop runs cost one delivery task, in order, bytes joined")
    func oneTaskPerBatch() {
        var machine = Machine()
        #expect(machine.headReceived(status: 200, headers: []) == .scheduleDelivery)
        #expect(Self.offer(&machine, [1, 2]) == .accepted(.none))
        #expect(Self.offer(&machine, [3]) == .accepted(.none))
        #expect(machine.completed(.success(())) == .none)
        #expect(Self.describe(machine.takeDeliveries()) == ["head 200", "body [1, 2, 3]", "end ok"])
        #expect(machine.pendingBytes == 3)
    }

    @Test("bytes after a delivery was taken schedule the next one")
    func nextTask() {
        var machine = Machine()
        _ = machine.headReceived(status: 200, headers: [])
        _ = machine.takeDeliveries()
        #expect(Self.offer(&machine, [1]) == .accepted(.scheduleDelivery))
        #expect(Self.describe(machine.takeDeliveries()) == ["body [1]"])
        #expect(machine.takeDeliveries().isEmpty)
    }

    @Test("past the pending-bytes bound the transfer pauses, and resumes once half has been consumed")
    func pendingBound() {
        var machine = Machine(maximumPendingBytes: 8)
        #expect(Self.offer(&machine, Array(repeating: 0, count: 8)) == .accepted(.scheduleDelivery))
        #expect(Self.offer(&machine, [9]) == .pause)
        #expect(machine.paused)
        #expect(machine.consumed(3, clientWritable: true) == .none)  // 5 still pending: more than half
        #expect(machine.consumed(1, clientWritable: true) == .resume)
        #expect(!machine.paused)
        #expect(Self.offer(&machine, [9]) == .accepted(.none))
    }

    @Test("a client that cannot take bytes pauses the transfer until it can")
    func clientBackpressure() {
        var machine = Machine()
        #expect(Self.offer(&machine, [1], writable: false) == .pause)
        #expect(machine.pendingBytes == 0)
        #expect(machine.resumeIfDrained(clientWritable: false) == .none)
        #expect(machine.resumeIfDrained(clientWritable: true) == .resume)
        #expect(machine.resumeIfDrained(clientWritable: true) == .none)  // resumed once, not twice
    }

    @Test("a transfer that is not paused is never resumed")
    func noSpuriousResume() {
        var machine = Machine()
        _ = Self.offer(&machine, [1, 2])
        #expect(machine.consumed(2, clientWritable: true) == .none)
        #expect(machine.resumeIfDrained(clientWritable: true) == .none)
    }

    @Test("an error end is delivered after the bytes before it")
    func errorEnd() {
        var machine = Machine()
        _ = machine.headReceived(status: 200, headers: [])
        _ = Self.offer(&machine, [1])
        _ = machine.completed(.failure(.consumerStalled))
        #expect(Self.describe(machine.takeDeliveries()) == ["head 200", "body [1]", "end \(UpstreamError.consumerStalled)"])
    }
}
