import Dispatch
import GraftTensor


/// STREAM-style memory-bandwidth probe over buffers far larger than the last-level cache.
///
/// - `copy`: `a[i] = b[i]`, counted as 8 bytes per element (one read, one write);
/// - `triad`: `a[i] = b[i] + s · c[i]`, counted as 12 bytes per element (two reads, one write);
/// - `update`: `a[i] = a[i] + s · b[i]` in place, counted as 12 bytes per element.
///
/// As in STREAM, write-allocate traffic (the read of `a`'s lines before they are written)
/// is not counted, and neither is it in the optimizer byte models. Copy and triad write a
/// buffer they do not read, so the hardware moves 4 more bytes per element than counted;
/// `update`, like every optimizer step (θ, m, v are read before they are written), moves
/// exactly what is counted. An in-place kernel can therefore exceed 1.0× triad. The figure
/// reported is the best pass (highest GB/s), with the median beside it.
public struct MemoryProbeResult: Codable, Sendable {
    /// `copy` or `triad`.
    public var kernel: String
    /// Threads the loop was split over.
    public var threads: Int
    /// Bytes of each of the three buffers.
    public var bufferBytes: Int
    /// Bytes counted per pass (8 or 12 per element).
    public var bytesPerPass: Int
    /// GB/s (10^9 bytes per second) of the fastest pass.
    public var bestGBPerSecond: Double
    /// GB/s of the median pass.
    public var medianGBPerSecond: Double
    /// Per-pass timing.
    public var timing: Statistics
}

/// The bandwidth probe itself (see ``MemoryProbeResult`` for the kernels and what they count).
public enum MemoryProbe {
    /// Runs copy and triad with one thread and with `maxThreads` threads (when more than one).
    public static func run(bufferMegabytes: Int, maxThreads: Int, policy: TimingPolicy) -> [MemoryProbeResult] {
        let count = bufferMegabytes * 1_048_576 / 4
        let bytes = count * 4
        let raw = (0..<3).map { _ in UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64) }
        defer { raw.forEach { $0.deallocate() } }
        let a = raw[0].bindMemory(to: Float.self, capacity: count)
        let b = raw[1].bindMemory(to: Float.self, capacity: count)
        let c = raw[2].bindMemory(to: Float.self, capacity: count)
        // First touch in parallel, with values that stay normal floats (a grows by at most
        // 0.5 · 2 per update pass, far from overflow over a run).
        split(count: count, threads: maxThreads) { r in
            for i in r { a[i] = 0; b[i] = 1 + Float(i & 1023) * 1e-3; c[i] = 2 - Float(i & 511) * 1e-3 }
        }
        var results: [MemoryProbeResult] = []
        let threadCounts = maxThreads > 1 ? [1, maxThreads] : [1]
        for threads in threadCounts {
            let copy = measure(policy) {
                split(count: count, threads: threads) { r in copyKernel(a, b, r) }
            }
            results.append(result("copy", threads, bytes, 8 * count, copy))
            let s: Float = 0.5
            let triad = measure(policy) {
                split(count: count, threads: threads) { r in triadKernel(a, b, c, s, r) }
            }
            results.append(result("triad", threads, bytes, 12 * count, triad))
            let update = measure(policy) {
                split(count: count, threads: threads) { r in updateKernel(a, b, s, r) }
            }
            results.append(result("update", threads, bytes, 12 * count, update))
        }
        blackHole(a[count / 3])
        return results
    }

    /// The best GB/s of `kernel` at `threads` threads in `results`, if it was measured.
    public static func best(_ kernel: String, threads: Int, in results: [MemoryProbeResult]) -> Double? {
        results.first { $0.kernel == kernel && $0.threads == threads }?.bestGBPerSecond
    }

    private static func result(_ kernel: String, _ threads: Int, _ bufferBytes: Int, _ moved: Int, _ s: Statistics) -> MemoryProbeResult {
        MemoryProbeResult(kernel: kernel, threads: threads, bufferBytes: bufferBytes, bytesPerPass: moved,
                          bestGBPerSecond: Double(moved) / s.p0, medianGBPerSecond: Double(moved) / s.p50, timing: s)
    }

    @inline(never)
    static func copyKernel(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ r: Range<Int>) {
        for i in r { a[i] = b[i] }
    }

    @inline(never)
    static func triadKernel(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ c: UnsafeMutablePointer<Float>,
                            _ s: Float, _ r: Range<Int>) {
        for i in r { a[i] = b[i] + s * c[i] }
    }

    @inline(never)
    static func updateKernel(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, _ s: Float, _ r: Range<Int>) {
        for i in r { a[i] = a[i] + s * b[i] }
    }

    /// Splits `0..<count` into `threads` contiguous ranges run concurrently (FTZ on in each worker).
    public static func split(count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        if threads <= 1 { body(0..<count); return }
        let per = (count + threads - 1) / threads
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                let lo = t * per, hi = min(count, lo + per)
                if lo < hi { FloatingPointEnvironment.withSubnormalsFlushed { body(lo..<hi) } }
            }
        }
    }
}
