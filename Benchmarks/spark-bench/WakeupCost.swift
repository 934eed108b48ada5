// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What one thread hand-off costs on this machine: two threads pass a token back and forth through two
/// `eventfd`s, each sleeping in `epoll_wait` between turns as the curl thread and the event loops do.
/// A round trip is two hand-offs, each a write, a wake-up of a sleeping thread and a read.
struct WakeupCost {
    let roundTrips: Int
    let nanoseconds: UInt64

    var microsecondsPerRoundTrip: Double { Double(nanoseconds) / Double(roundTrips) / 1e3 }

    var summary: String {
        String(format: "wakeup: eventfd ping-pong between two threads sleeping in epoll_wait: %.1f µs per round trip, %.1f µs per hand-off (%d round trips)",
               microsecondsPerRoundTrip, microsecondsPerRoundTrip / 2, roundTrips)
    }

    /// Runs `roundTrips` round trips after 1,000 unmeasured ones.
    static func measure(roundTrips: Int = 20_000) -> WakeupCost {
        let ping = eventfd(0, Int32(EFD_CLOEXEC))
        let pong = eventfd(0, Int32(EFD_CLOEXEC))
        precondition(ping >= 0 && pong >= 0, "eventfd failed: errno \(errno)")
        defer { close(ping); close(pong) }
        let warmup = 1_000
        let total = warmup + roundTrips
        let responder = Thread {
            let waiter = Waiter(fd: ping)
            for _ in 0..<total {
                waiter.wait()
                post(pong)
            }
        }
        responder.start()
        let waiter = Waiter(fd: pong)
        var start: UInt64 = 0
        for index in 0..<total {
            if index == warmup { start = DispatchTime.now().uptimeNanoseconds }
            post(ping)
            waiter.wait()
        }
        return WakeupCost(roundTrips: roundTrips, nanoseconds: DispatchTime.now().uptimeNanoseconds - start)
    }

    private static func post(_ fd: Int32) {
        var one: UInt64 = 1
        _ = write(fd, &one, 8)
    }

    /// An epoll set watching one eventfd: `wait` sleeps until it is readable and reads it.
    private final class Waiter {
        let fd: Int32
        let epoll: Int32

        init(fd: Int32) {
            self.fd = fd
            epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
            var event = epoll_event()
            event.events = EPOLLIN.rawValue
            event.data.fd = fd
            precondition(epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0, "epoll_ctl failed: errno \(errno)")
        }

        deinit { close(epoll) }

        func wait() {
            var event = epoll_event()
            while epoll_wait(epoll, &event, 1, -1) != 1 {}
            var value: UInt64 = 0
            _ = read(fd, &value, 8)
        }
    }
}
