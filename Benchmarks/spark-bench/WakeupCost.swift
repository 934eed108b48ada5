// SPDX-License-Identifier: Apache-2.0
import Foundation
import LoadGenerator

#if canImport(Glibc)
import Glibc
#endif

/// What one thread hand-off costs on this machine, measured two ways with two threads that each sleep in
/// `poll` on a pipe, as the curl thread and the event loops sleep in `epoll_wait` on their eventfds (the
/// kernel's wake-up of a sleeping thread is the same):
/// - **back to back**: the threads pass a byte to and fro without pause, so the other CPU has just gone idle
///   when it is woken (a round trip is two hand-offs, each a write, a wake-up and a read);
/// - **after idle**: the waker first sleeps `idleMilliseconds` (a backend's prefill, during which every
///   thread of a lone request sleeps), then writes its clock reading; the sleeper reads the clock when it
///   wakes. That one-way figure is what each hand-off of a request that finds the machine idle costs.
struct WakeupCost: Sendable {
    let roundTrips: Int
    let nanoseconds: UInt64
    /// One-way wake-up latencies after an idle pause, in nanoseconds.
    let afterIdle: Percentiles
    let idleMilliseconds: Int

    var microsecondsPerRoundTrip: Double { Double(nanoseconds) / Double(roundTrips) / 1e3 }

    /// An after-idle percentile (nanoseconds) in microseconds.
    static func microseconds(_ nanoseconds: Int64) -> Double { Double(nanoseconds) / 1e3 }

    var summary: String {
        String(format: """
            wakeup: back to back, ping-pong between two threads sleeping in poll: %.1f µs per round trip, %.1f µs per hand-off (%d round trips)
            wakeup: after %d ms idle, one hand-off (write to the sleeping thread's return from poll): p50 %.1f µs, p90 %.1f µs, p99 %.1f µs (%d hand-offs)
            """,
            microsecondsPerRoundTrip, microsecondsPerRoundTrip / 2, roundTrips,
            idleMilliseconds, Self.microseconds(afterIdle.p50), Self.microseconds(afterIdle.p90), Self.microseconds(afterIdle.p99), afterIdle.count)
    }

    /// Runs `roundTrips` back-to-back round trips after as many unmeasured ones (at most 1,000), then
    /// `idleSamples` hand-offs each after `idleMilliseconds` of sleep.
    static func measure(roundTrips: Int = 20_000, idleSamples: Int = 200, idleMilliseconds: Int = 20) -> WakeupCost {
        var ping: [Int32] = [0, 0]
        var pong: [Int32] = [0, 0]
        precondition(pipe(&ping) == 0 && pipe(&pong) == 0, "pipe failed: errno \(errno)")
        defer { for fd in ping + pong { close(fd) } }
        let warmup = min(1_000, roundTrips)
        let total = warmup + roundTrips
        let (pingRead, pingWrite, pongRead, pongWrite) = (ping[0], ping[1], pong[0], pong[1])
        // The responder echoes what it reads. In the after-idle part it reads the waker's clock reading
        // and answers with how long ago that was.
        let responder = Thread {
            for _ in 0..<total {
                _ = wait(pingRead)
                post(pongWrite, 1)
            }
            for _ in 0..<idleSamples {
                let sentAt = wait(pingRead)
                post(pongWrite, monotonicNanoseconds() - sentAt)
            }
        }
        responder.start()
        var start: UInt64 = 0
        for index in 0..<total {
            if index == warmup { start = monotonicNanoseconds() }
            post(pingWrite, 1)
            _ = wait(pongRead)
        }
        let backToBack = monotonicNanoseconds() - start
        var afterIdle: [Int64] = []
        afterIdle.reserveCapacity(idleSamples)
        for _ in 0..<idleSamples {
            var pause = timespec(tv_sec: 0, tv_nsec: idleMilliseconds * 1_000_000)
            var remaining = timespec()
            while nanosleep(&pause, &remaining) != 0 { pause = remaining }
            post(pingWrite, monotonicNanoseconds())
            afterIdle.append(Int64(wait(pongRead)))
        }
        return WakeupCost(roundTrips: roundTrips, nanoseconds: backToBack, afterIdle: Percentiles(afterIdle),
                          idleMilliseconds: idleMilliseconds)
    }

    private static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    private static func post(_ fd: Int32, _ value: UInt64) {
        var value = value
        _ = write(fd, &value, MemoryLayout<UInt64>.size)
    }

    /// Sleeps in `poll` until `fd` is readable, then reads the 8 bytes written to it.
    private static func wait(_ fd: Int32) -> UInt64 {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while poll(&entry, 1, -1) != 1 {}
        var value: UInt64 = 0
        _ = read(fd, &value, MemoryLayout<UInt64>.size)
        return value
    }
}
