import GraftTensor

/// The finiteness check of a step's inputs: one read of every buffer, spread over the threads
/// when there is enough of it, done before anything changes.
enum FiniteCheck {
    /// The position (in `0..<count`) of the first of the buffers `buffer(0)`, `buffer(1)`, …
    /// that holds a NaN or an infinity, or `nil`.
    static func firstNonFinite(count: Int, parallelThreshold: Int, _ buffer: (Int) -> UnsafeBufferPointer<Float>) -> Int? {
        var total = 0
        for j in 0..<count { total += buffer(j).count }
        let threads = Parallel.threads
        // Many small buffers are worth both cores for their cache misses alone (see `KernelPlan`).
        guard threads > 1, total + count * KernelPlan.overheadPerTensor >= parallelThreshold, count > 0 else {
            for j in 0..<count where !Vector.allFinite(buffer(j)) { return j }
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
            for j in 0..<count {
                let b = buffer(j)
                let end = start + b.count
                defer { start = end }
                guard end > lo else { continue }
                guard start < hi else { return }
                let a = max(lo, start) - start, z = min(hi, end) - start
                if !Vector.allFinite(UnsafeBufferPointer(rebasing: b[a..<z])) { found[w] = j; return }
            }
        }
        var first = Int.max
        for w in 0..<threads { first = min(first, found[w]) }
        return first == .max ? nil : first
    }
}
