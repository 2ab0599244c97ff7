import Foundation
import Synchronization
import Testing
import GraftTensor
import GraftTestSupport

/// Everything that changes process-wide settings (`Parallel.threads`,
/// `Parallel.flushesSubnormals`) lives in this one serialized suite. Other suites may run
/// concurrently with it; that is safe because results do not depend on the thread count,
/// which is exactly what the determinism tests here check.
@Suite("Parallel kernels and global settings", .serialized)
struct ParallelTests {
    /// Large enough that elementwise kernels and reductions take the two-thread path.
    static let parallelCount = Parallel.minimumElements + 3

    /// Runs `body` with `Parallel.threads` set to `threads`, then restores the default.
    func withThreads<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
        Parallel.threads = threads
        defer { Parallel.threads = 0 }
        return try body()
    }

    /// Records the chunks `forChunks` hands out.
    func chunks(count: Int, minimumPerChunk: Int = Parallel.minimumElements / 2, alignment: Int = 64) -> [Range<Int>] {
        let seen = Mutex<[Range<Int>]>([])
        Parallel.forChunks(count: count, minimumPerChunk: minimumPerChunk, alignment: alignment) { r in
            seen.withLock { $0.append(r) }
        }
        return seen.withLock { $0 }.sorted { $0.lowerBound < $1.lowerBound }
    }

    @Test func forChunksCoversTheRangeWithAlignedDisjointChunks() {
        withThreads(2) {
            let n = Self.parallelCount
            let split = chunks(count: n)
            #expect(split.count == 2)
            #expect(split.first?.lowerBound == 0 && split.last?.upperBound == n)
            for (a, b) in zip(split, split.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
            #expect(split.dropFirst().allSatisfy { $0.lowerBound % 64 == 0 })

            #expect(chunks(count: Parallel.minimumElements - 1) == [0..<(Parallel.minimumElements - 1)])
            #expect(chunks(count: 3, minimumPerChunk: 1, alignment: 1) == [0..<2, 2..<3])
            #expect(chunks(count: 0).isEmpty)
        }
        withThreads(1) {
            #expect(chunks(count: Self.parallelCount) == [0..<Self.parallelCount])
        }
    }

    @Test func forEachVisitsEveryIterationOnce() {
        for threads in [1, 2] {
            withThreads(threads) {
                let visits = Mutex<[Int]>([])
                Parallel.forEach(iterations: 37) { i in visits.withLock { $0.append(i) } }
                #expect(visits.withLock { $0 }.sorted() == Array(0..<37), "threads \(threads)")
            }
        }
    }

    @Test func threadsDefaultsToTheProcessorCount() {
        Parallel.threads = 0
        #expect(Parallel.threads == Swift.max(1, System.activeProcessorCount))
        withThreads(3) { #expect(Parallel.threads == 3) }
        #expect(Parallel.threads == Swift.max(1, System.activeProcessorCount))
    }

    /// Issue 13: `--threads 2147483648` trapped in `Int32(...)`; a thread count beyond
    /// `Int32` is clamped (OpenBLAS then caps it at its own maximum), and reading the count
    /// stays consistent.
    @Test func hugeBLASThreadCountsDoNotTrap() {
        let before = BLAS.threads
        BLAS.threads = 2_147_483_648
        #expect(BLAS.threads >= 1)
        BLAS.threads = Int.max
        #expect(BLAS.threads >= 1)
        BLAS.threads = before
        #expect(BLAS.threads == before)
        #expect(System.activeProcessorCount == System.activeProcessorCount && System.activeProcessorCount >= 1)
    }

    /// Reductions combine per-block results in block order, so one and two threads give
    /// bit-identical results; on integer data they are also exact.
    @Test func reductionsAreIdenticalOnOneAndTwoThreads() throws {
        let n = Self.parallelCount
        let x = randomIntegerTensor([n], seed: 41), y = randomIntegerTensor([n], seed: 42)
        let xs = doubles(x), ys = doubles(y)
        let exact: [Float] = [Float(sumReference(xs, xs) { a, _ in a }.sum), Float(sumReference(xs, ys, *).sum),
                              Float(sumReference(xs, xs, *).sum)]
        let uniform = randomUniformTensor([n], lower: -1, upper: 1, seed: 43)
        func results() throws -> [Float] {
            [x.sum(), try x.dot(y), x.squaredNorm(), uniform.sum(), try uniform.dot(x), uniform.squaredNorm()]
        }
        let one = try withThreads(1) { try results() }
        let two = try withThreads(2) { try results() }
        #expect(bitwiseEqual(one, two), "one thread \(one), two threads \(two)")
        #expect(Array(two.prefix(3)) == exact)
    }

    @Test func elementwiseKernelsAreIdenticalOnOneAndTwoThreads() throws {
        let n = Self.parallelCount
        let x = randomUniformTensor([n], lower: -1, upper: 1, seed: 44)
        let y = randomUniformTensor([n], lower: 0.5, upper: 2, seed: 45)
        func results() throws -> [Tensor] {
            var axpy = y
            try axpy.addScaled(x, by: 0.25)
            var axpby = y
            try axpby.scaleAndAdd(x, alpha: 2, beta: -0.5)
            var quotient = x
            try quotient.divide(by: y)
            return [try x + y, try x * y, axpy, axpby, quotient, x.map { $0 * $0 }, x * 3]
        }
        let one = try withThreads(1) { try results() }
        let two = try withThreads(2) { try results() }
        for (i, (a, b)) in zip(one, two).enumerated() {
            #expect(bitwiseEqual(a.scalars, b.scalars), "result \(i) differs between one and two threads")
        }
        expectIdentical(two[0].scalars, zipReference(x, y, +), "two-thread + against the reference")
        expectIdentical(two[2].scalars, zipReference(x, y) { $1 + 0.25 * $0 }, "two-thread addScaled (0.25·x is exact)")
        expectIdentical(two[4].scalars, zipReference(x, y, /), "two-thread divide")
    }

    /// Runs `body` on a thread of its own (so the test's shared thread keeps its mode) and
    /// returns what it returns.
    func onOwnThread<R: Sendable>(_ body: @escaping @Sendable () -> R) -> R {
        let result = Mutex<R?>(nil)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            let r = body()
            result.withLock { $0 = r }
            done.signal()
        }
        thread.start()
        done.wait()
        return result.withLock { $0! }
    }

    @Test func withSubnormalsFlushedSetsAndRestoresTheCallingThreadsMode() {
        let tiny = [Float.leastNormalMagnitude / 8]   // a subnormal, read at run time
        let seen = onOwnThread { () -> [Bool] in
            FloatingPointEnvironment.withSubnormalsFlushed(false) {
                let before = FloatingPointEnvironment.isFlushingSubnormals
                let (inside, flushedProduct) = FloatingPointEnvironment.withSubnormalsFlushed {
                    (FloatingPointEnvironment.isFlushingSubnormals, tiny[0] * 1.5 == 0)
                }
                let after = FloatingPointEnvironment.isFlushingSubnormals
                return [before, inside, flushedProduct, after, tiny[0] * 1.5 == 0]
            }
        }
        #expect(seen == [false, true, true, false, false],
                "[before, inside, subnormal flushed inside, after, subnormal flushed after]")
    }

    @Test func workersFollowTheCallingThreadsModeAndDoNotKeepIt() {
        // Two chunks per kernel, so one runs on a Dispatch worker; each records its thread's mode.
        let n = Self.parallelCount
        @Sendable func modes() -> [Bool] {
            let seen = Mutex<[Bool]>([])
            Parallel.forChunks(count: n) { _ in
                let flushing = FloatingPointEnvironment.isFlushingSubnormals
                seen.withLock { $0.append(flushing) }
            }
            Parallel.forEach(iterations: 4) { _ in
                let flushing = FloatingPointEnvironment.isFlushingSubnormals
                seen.withLock { $0.append(flushing) }
            }
            return seen.withLock { $0 }
        }
        let (flushed, kept) = withThreads(2) {
            onOwnThread { () -> ([Bool], [Bool]) in
                let flushed = FloatingPointEnvironment.withSubnormalsFlushed(true) { modes() }
                let kept = FloatingPointEnvironment.withSubnormalsFlushed(false) { modes() }
                return (flushed, kept)
            }
        }
        #expect(flushed.count == 6 && flushed.allSatisfy { $0 }, "workers of a flushing caller flush: \(flushed)")
        #expect(kept.count == 6 && kept.allSatisfy { !$0 }, "workers do not keep a previous caller's mode: \(kept)")
    }
}
