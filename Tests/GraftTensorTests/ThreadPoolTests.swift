import CGraftSupport
import Foundation
import Synchronization
import Testing
import GraftTensor

/// Graft's persistent thread pool (`graft_pool_run`, behind `Parallel`): every index runs exactly
/// once, workers really take part (spinning and after sleeping on the futex), a busy pool refuses
/// at once instead of deadlocking, and `Parallel` falls back to Dispatch then. Run under
/// ThreadSanitizer by `make tsan`.
@Suite("Thread pool", .serialized)
struct ThreadPoolTests {
    /// What a job records: how often each index ran (plain stores, one slot per index: two runs
    /// of one index, or a store not ordered before the caller's read, are races ThreadSanitizer
    /// reports) and how many ran off the calling thread.
    final class Record: @unchecked Sendable {
        let runs: UnsafeMutablePointer<Int>
        let count: Int
        let offCaller = Atomic<Int>(0)
        let caller = pthread_self()
        let workMicroseconds: Double
        let nested: Atomic<Int32> = Atomic(-1)
        let tryNested: Bool
        init(_ count: Int, workMicroseconds: Double = 0, tryNested: Bool = false) {
            self.count = count
            runs = .allocate(capacity: count)
            runs.initialize(repeating: 0, count: count)
            self.workMicroseconds = workMicroseconds
            self.tryNested = tryNested
        }
        deinit { runs.deallocate() }
        /// Every index ran exactly once.
        var eachRanOnce: Bool { (0..<count).allSatisfy { runs[$0] == 1 } }
    }

    static let task: graft_pool_task = { context, index in
        let record = Unmanaged<Record>.fromOpaque(context!).takeUnretainedValue()
        if pthread_equal(pthread_self(), record.caller) == 0 { record.offCaller.add(1, ordering: .relaxed) }
        if record.workMicroseconds > 0 {
            let end = Date().addingTimeInterval(record.workMicroseconds * 1e-6)
            while Date() < end {}
        }
        if record.tryNested {
            // The pool is busy with this very job: a nested call must refuse, not wait for itself.
            record.nested.store(graft_pool_run(2, 2, { _, _ in }, nil), ordering: .relaxed)
        }
        record.runs[Int(index)] += 1
    }

    /// Runs one job on the pool, retrying while another suite's kernel holds it.
    func runOnPool(_ record: Record) {
        let context = Unmanaged.passUnretained(record).toOpaque()
        while graft_pool_run(Int64(record.count), 2, Self.task, context) == 0 { usleep(100) }
    }

    @Test func everyIndexRunsExactlyOnceAndWorkersTakePart() {
        var offCaller = 0
        for iterations in [1, 2, 3, 17, 300] {
            for _ in 0..<40 {
                let record = Record(iterations, workMicroseconds: 20)
                runOnPool(record)
                #expect(record.eachRanOnce, "\(iterations) iterations")
                offCaller += record.offCaller.load(ordering: .relaxed)
            }
        }
        #expect(offCaller > 0, "no index ever ran on a pool worker")
        #expect(graft_pool_worker_count() >= 1)
    }

    @Test func workersWakeFromSleepWhenTheyDoNotSpin() {
        let spin = Parallel.spinMicroseconds
        Parallel.spinMicroseconds = 0
        defer { Parallel.spinMicroseconds = spin }
        #expect(Parallel.spinMicroseconds == 0)
        var offCaller = 0
        for _ in 0..<30 {
            usleep(2000)   // the workers are asleep on the futex by now
            let record = Record(2, workMicroseconds: 300)
            runOnPool(record)
            #expect(record.eachRanOnce)
            offCaller += record.offCaller.load(ordering: .relaxed)
        }
        #expect(offCaller > 0, "sleeping workers never woke for a job")
    }

    @Test func aBusyPoolRefusesAtOnce() {
        let record = Record(1, tryNested: true)
        runOnPool(record)
        #expect(record.nested.load(ordering: .relaxed) == 0, "a call from inside a job must return 0")
        #expect(graft_pool_run(0, 2, Self.task, nil) == 1, "an empty job has nothing to run")
        #expect(graft_pool_run(70_000, 2, Self.task, nil) == 0, "more than 65535 iterations are refused")
        #expect(graft_pool_run(4, 1, Self.task, nil) == 0, "one thread is not a pool job")
    }

    @Test func concurrentCallersAndNestedKernelsEachSeeEveryIteration() {
        // Four threads call Parallel.forEach at once, and every body starts a nested forEach: one
        // caller gets the pool, the others (and every nested call) go to Dispatch.
        let threads = Parallel.threads
        Parallel.threads = 2
        defer { Parallel.threads = threads }
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for round in 0..<50 {
                let n = 3 + round % 5
                let outer = Atomic<Int>(0), inner = Atomic<Int>(0)
                Parallel.forEach(iterations: n) { i in
                    Parallel.forEach(iterations: 3) { _ in inner.add(1, ordering: .relaxed) }
                    outer.add(1 << (4 * i), ordering: .relaxed)   // a 4-bit counter per index
                }
                let once = (0..<n).reduce(0) { $0 | 1 << (4 * $1) }
                if outer.load(ordering: .relaxed) != once || inner.load(ordering: .relaxed) != 3 * n {
                    failures.add(1, ordering: .relaxed)
                }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
    }
}
