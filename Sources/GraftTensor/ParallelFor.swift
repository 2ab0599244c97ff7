import Dispatch
import Synchronization
import CGraftSupport

/// Splits work over the machine's cores (two on the reference machine) with Graft's own
/// persistent thread pool (`graft_pool_run`; Dispatch's `concurrentPerform` when it is busy).
///
/// Work smaller than `Parallel.minimumElements` runs inline on the calling thread. The
/// threshold was measured when kernels ran on Dispatch: on the 2-core reference VM a Dispatch
/// round trip costs about 10 µs and the second worker often wakes late, while a single thread already
/// streams an axpy at 40+ GB/s, so two threads lose on memory-bound loops (axpy, dot) up to
/// 2^20 elements and win from about 2^21 (see the README's "Tensor core" section).
public enum Parallel {
    private static let threadSetting = Atomic<Int>(0)

    /// Elements below which a kernel stays on one thread: 2^21 (measured; see the README).
    public static let minimumElements = 1 << 21

    /// The number of threads kernels may use: the active processor count unless set.
    public static var threads: Int {
        get {
            let t = threadSetting.load(ordering: .relaxed)
            return t > 0 ? t : max(1, System.activeProcessorCount)
        }
        set { threadSetting.store(max(0, newValue), ordering: .relaxed) }
    }

    /// Whether worker threads flush subnormal floats to zero (FTZ/DAZ) for work started from
    /// the calling thread: they follow the calling thread's mode for the duration of each
    /// kernel and then restore their own, so no setting leaks from one caller to another
    /// through Dispatch's shared workers. Set it with `FloatingPointEnvironment`.
    public static var flushesSubnormals: Bool { FloatingPointEnvironment.isFlushingSubnormals }

    /// Calls `body` on disjoint chunks of `0..<count` that together cover it, in parallel
    /// when `count` is at least `minimumPerChunk * 2` and more than one thread is allowed.
    /// Chunk boundaries are multiples of `alignment`.
    public static func forChunks(count: Int, minimumPerChunk: Int = Parallel.minimumElements / 2,
                                 alignment: Int = 64, _ body: (Range<Int>) -> Void) {
        let threads = Parallel.threads
        guard threads > 1, count >= 2 * minimumPerChunk else {
            if count > 0 { body(0..<count) }
            return
        }
        let chunks = min(threads, count / max(1, minimumPerChunk))
        let per = ((count + chunks - 1) / chunks + alignment - 1) / alignment * alignment
        run(iterations: chunks, threads: threads) { c in
            let lo = c * per
            let hi = min(count, lo + per)
            guard lo < hi else { return }
            body(lo..<hi)
        }
    }

    /// Runs `iterations` independent tasks over the allowed threads.
    public static func forEach(iterations: Int, _ body: (Int) -> Void) {
        guard iterations > 0 else { return }
        if iterations == 1 || threads == 1 {
            for i in 0..<iterations { body(i) }
            return
        }
        run(iterations: iterations, threads: threads, body)
    }

    /// How long an idle worker of Graft's pool spins, waiting for the next kernel, before it
    /// sleeps (default 50 µs; 0 sleeps at once). Spinning makes the kernels of one optimizer step
    /// (finiteness check, reductions, update) start on the workers in under a microsecond instead
    /// of Dispatch's ~13 µs; a spinning worker yields its core to any other runnable thread, and
    /// nothing spins once training stops. Process-wide.
    public static var spinMicroseconds: Int {
        get { Int(graft_pool_spin_microseconds()) }
        set { graft_pool_set_spin_microseconds(Int32(clamping: newValue)) }
    }

    /// Runs `body(i)` for `i` in `0..<iterations` on the calling thread and up to `threads − 1`
    /// workers of Graft's pool, or all on the calling thread, in order, when the pool is busy
    /// (work started from inside a kernel: no second level of threads).
    static func runOrInline(iterations: Int, threads: Int, _ body: (Int) -> Void) {
        guard iterations > 1, threads > 1, onPool(iterations: iterations, threads: threads, body) else {
            for i in 0..<iterations { body(i) }
            return
        }
    }

    /// Runs `body(i)` for `i` in `0..<iterations` on the calling thread and up to `threads − 1`
    /// workers of Graft's pool (`graft_pool_run` in CGraftSupport), each in the caller's
    /// floating-point mode. When the pool is busy (another thread's kernel, or a kernel started
    /// from inside a kernel) the work goes to Dispatch's `concurrentPerform` instead.
    static func run(iterations: Int, threads: Int, _ body: (Int) -> Void) {
        guard !onPool(iterations: iterations, threads: threads, body) else { return }
        let flush = flushesSubnormals
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: iterations) { i in
                FloatingPointEnvironment.inCallersMode(flush) { body(i) }
            }
        }
    }

    /// Runs `body(i)` for `i` in `0..<iterations` on the calling thread and up to `threads − 1`
    /// workers of Graft's pool, each in the caller's floating-point mode; `false` (nothing run)
    /// when the pool is busy.
    private static func onPool(iterations: Int, threads: Int, _ body: (Int) -> Void) -> Bool {
        let flush = flushesSubnormals
        return withoutActuallyEscaping(body) { body in
            var job = PoolJob(body: body, flush: flush)
            return withUnsafeMutablePointer(to: &job) { job in
                graft_pool_run(Int64(iterations), Int32(clamping: threads), { context, index in
                    let job = context!.assumingMemoryBound(to: PoolJob.self)
                    FloatingPointEnvironment.inCallersMode(job.pointee.flush) { job.pointee.body(Int(index)) }
                }, job)
            } != 0
        }
    }
}

/// A pool job's body and the caller's floating-point mode, passed to the C pool as its context.
private struct PoolJob {
    let body: (Int) -> Void
    let flush: Bool
}

/// Facts about the machine.
public enum System {
    /// Cores available to this process, read once (glibc's `sysconf(_SC_NPROCESSORS_ONLN)`
    /// opens and parses `/sys/devices/system/cpu/online` on every call, about 5 µs, and
    /// `Parallel.threads` is read by every kernel call).
    public static var activeProcessorCount: Int { cachedProcessorCount }

    private static let cachedProcessorCount: Int = {
        #if canImport(Glibc)
        let n = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return n > 0 ? n : 1
        #else
        return 1
        #endif
    }()
}

#if canImport(Glibc)
import Glibc
#endif

/// The floating-point environment of the calling thread.
///
/// Adam's moments of parameters whose gradient stays zero decay into subnormals after ~750
/// steps, which makes a step 10–12× slower on x86; flushing them to zero (FTZ/DAZ) avoids it.
/// The mode belongs to a thread: `Parallel`'s workers take the calling thread's mode for each
/// kernel and restore their own afterwards, so setting it on the thread that drives training
/// is enough, and nothing leaks into other work sharing Dispatch's threads.
public enum FloatingPointEnvironment {
    /// Flushes subnormal results and inputs to zero on the calling thread (FTZ/DAZ) from now
    /// on; kernels it starts on `Parallel`'s workers do the same. Programs call it once at
    /// start (the examples do, through `ExampleEnvironment`); libraries and tests prefer
    /// `withSubnormalsFlushed(_:_:)`, which restores the previous mode.
    public static func flushSubnormalsToZero() {
        _ = graft_enable_flush_to_zero()
    }

    /// Runs `body` with subnormals flushed to zero (`flush == true`) or kept (`false`) on the
    /// calling thread, then restores the thread's previous mode, also when `body` throws.
    public static func withSubnormalsFlushed<R>(_ flush: Bool = true, _ body: () throws -> R) rethrows -> R {
        let previous = flush ? graft_enable_flush_to_zero() : graft_disable_flush_to_zero()
        defer { graft_restore_fp_mode(previous) }
        return try body()
    }

    /// Whether the calling thread flushes subnormals to zero.
    public static var isFlushingSubnormals: Bool { graft_flush_to_zero_enabled() != 0 }

    /// Runs a worker's share in the mode of the thread that started the kernel. Setting and
    /// restoring the control register costs a few cycles per chunk.
    @inline(__always)
    static func inCallersMode(_ flush: Bool, _ body: () -> Void) {
        let previous = flush ? graft_enable_flush_to_zero() : graft_disable_flush_to_zero()
        body()
        graft_restore_fp_mode(previous)
    }
}
