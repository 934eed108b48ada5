// SPDX-License-Identifier: Apache-2.0
import Foundation

/// A value that several event loop threads share, guarded by a lock.
///
/// Safety of `@unchecked Sendable`: the only stored mutable state is `value`, and it is read or written
/// exclusively inside ``withLock(_:)`` while `lock` is held, so no two threads ever touch it at once.
/// `Value` is itself `Sendable`, so values copied out of the closure may cross threads freely, and
/// `inout` access cannot escape the closure.
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    /// Runs `body` with exclusive access to the value.
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
