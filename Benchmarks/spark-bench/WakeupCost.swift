// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What one thread hand-off costs on this machine: two threads pass a byte back and forth through two
/// pipes, each sleeping in `poll` between turns, as the curl thread and the event loops sleep in
/// `epoll_wait` on their eventfds (the kernel's wake-up of a sleeping thread is the same). A round trip
/// is two hand-offs, each a write, a wake-up of a sleeping thread and a read.
struct WakeupCost {
    let roundTrips: Int
    let nanoseconds: UInt64

    var microsecondsPerRoundTrip: Double { Double(nanoseconds) / Double(roundTrips) / 1e3 }

    var summary: String {
        String(format: "wakeup: ping-pong between two threads sleeping in poll: %.1f µs per round trip, %.1f µs per hand-off (%d round trips)",
               microsecondsPerRoundTrip, microsecondsPerRoundTrip / 2, roundTrips)
    }

    /// Runs `roundTrips` round trips after 1,000 unmeasured ones.
    static func measure(roundTrips: Int = 20_000) -> WakeupCost {
        var ping: [Int32] = [0, 0]
        var pong: [Int32] = [0, 0]
        precondition(pipe(&ping) == 0 && pipe(&pong) == 0, "pipe failed: errno \(errno)")
        defer { for fd in ping + pong { close(fd) } }
        let warmup = 1_000
        let total = warmup + roundTrips
        let (pingRead, pingWrite, pongRead, pongWrite) = (ping[0], ping[1], pong[0], pong[1])
        let responder = Thread {
            for _ in 0..<total {
                wait(pingRead)
                post(pongWrite)
            }
        }
        responder.start()
        var start: UInt64 = 0
        for index in 0..<total {
            if index == warmup { start = DispatchTime.now().uptimeNanoseconds }
            post(pingWrite)
            wait(pongRead)
        }
        return WakeupCost(roundTrips: roundTrips, nanoseconds: DispatchTime.now().uptimeNanoseconds - start)
    }

    private static func post(_ fd: Int32) {
        var byte: UInt8 = 1
        _ = write(fd, &byte, 1)
    }

    /// Sleeps in `poll` until `fd` is readable, then reads its byte.
    private static func wait(_ fd: Int32) {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while poll(&entry, 1, -1) != 1 {}
        var byte: UInt8 = 0
        _ = read(fd, &byte, 1)
    }
}
