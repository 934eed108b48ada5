// SPDX-License-Identifier: Apache-2.0
/// The tool calls of a stream that have a name and wait for their `tool_use` block, taken in the order
/// they first appeared upstream: a binary min-heap of their positions in that order, so adding one and
/// taking the next cost O(log n) whatever the backend sends (20,000 interleaved calls included).
struct WaitingToolCalls: Sendable {
    private var heap: [Int] = []

    var isEmpty: Bool { heap.isEmpty }

    /// The earliest waiting position.
    var first: Int? { heap.first }

    /// Adds a position (each position at most once).
    mutating func insert(_ position: Int) {
        heap.append(position)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child] < heap[parent] else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest waiting position.
    @discardableResult
    mutating func removeFirst() -> Int? {
        guard let first = heap.first else { return nil }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return first }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, heap[left] < heap[smallest] { smallest = left }
            if right < heap.count, heap[right] < heap[smallest] { smallest = right }
            guard smallest != parent else { return first }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
