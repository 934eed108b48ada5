// SPDX-License-Identifier: Apache-2.0
import NIOConcurrencyHelpers

/// Tasks waiting for a count to fall to zero (requests in flight, one backend's calls), woken by the
/// event instead of polling: the owner of the count calls ``wake()`` when it may have reached zero,
/// and each waiter checks its own condition again.
///
/// A waiter parks on a continuation that one of three things resumes: ``wake()``, its deadline (a
/// timer task that sleeps until then), or the cancellation of its task. It registers before it
/// checks its condition, so a ``wake()`` between the check and the park cannot be missed, as long as
/// the owner changes the count before calling ``wake()``.
final class IdleWaiters: Sendable {
    private struct State {
        var nextID = 0
        var parked: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waiters resumed (by their timer or cancellation) before they had parked.
        var resumedEarly: Set<Int> = []
    }

    private let state = NIOLockedValueBox(State())

    init() {}

    /// Tasks parked now.
    var count: Int { state.withLockedValue { $0.parked.count } }

    /// Returns once `isIdle()` holds, `deadline` passes or the task is cancelled, whichever is first.
    func wait(until deadline: ContinuousClock.Instant, isIdle: @escaping @Sendable () -> Bool) async {
        while !isIdle(), ContinuousClock.now < deadline, !Task.isCancelled {
            await park(until: deadline, isIdle: isIdle)
        }
    }

    /// Resumes every parked waiter; each checks its condition again.
    func wake() {
        let waiters = state.withLockedValue { state in
            defer { state.parked = [:] }
            return Array(state.parked.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Parks until woken, the deadline or cancellation.
    private func park(until deadline: ContinuousClock.Instant, isIdle: @escaping @Sendable () -> Bool) async {
        let id = state.withLockedValue { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        let timer = Task { [self] in
            try? await Task.sleep(until: deadline, clock: .continuous)
            if !Task.isCancelled { resume(id) }
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumed = state.withLockedValue { state in
                    if state.resumedEarly.remove(id) != nil { return true }
                    state.parked[id] = continuation
                    return false
                }
                if resumed {
                    continuation.resume()
                } else if isIdle() {
                    resume(id)
                }
            }
        } onCancel: {
            resume(id)
        }
        timer.cancel()
        await timer.value
        // A timer that fired while a wake() was resuming this waiter left a mark: clear it.
        _ = state.withLockedValue { $0.resumedEarly.remove(id) }
    }

    /// Resumes the waiter `id` if parked, or marks it to resume at once when it parks.
    private func resume(_ id: Int) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.parked.removeValue(forKey: id) { return waiter }
            state.resumedEarly.insert(id)
            return nil
        }
        waiter?.resume()
    }
}
