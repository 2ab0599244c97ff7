import GraftTensor

/// The finiteness check of a step's inputs: one read of every buffer, spread over the threads
/// when there is enough of it, done before anything changes.
enum FiniteCheck {
    /// The tag (parameter index) of the first buffer in the list holding a NaN or an
    /// infinity, or `nil`.
    static func firstNonFinite(_ buffers: [(UnsafeBufferPointer<Float>, Int)], parallelThreshold: Int) -> Int? {
        let total = buffers.reduce(0) { $0 + $1.0.count }
        let threads = Parallel.threads
        guard threads > 1, total >= parallelThreshold, buffers.count > 0 else {
            for (b, tag) in buffers where !Vector.allFinite(b) { return tag }
            return nil
        }
        // Cut the concatenation of all buffers into one contiguous share per worker.
        let found = UnsafeMutablePointer<Int>.allocate(capacity: threads)
        found.initialize(repeating: .max, count: threads)
        defer { found.deallocate() }
        let share = (total + threads - 1) / threads
        Parallel.forEach(iterations: threads) { w in
            let lo = w * share, hi = min(total, lo + share)
            var start = 0
            for (position, (b, _)) in buffers.enumerated() {
                let end = start + b.count
                defer { start = end }
                guard end > lo, start < hi else { continue }
                let a = max(lo, start) - start, z = min(hi, end) - start
                if !Vector.allFinite(UnsafeBufferPointer(rebasing: b[a..<z])) { found[w] = position; return }
            }
        }
        let first = (0..<threads).map { found[$0] }.min()!
        return first == .max ? nil : buffers[first].1
    }
}
