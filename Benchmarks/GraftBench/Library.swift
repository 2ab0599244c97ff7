import GraftBenchmarking

// graft-bench is a user of GraftBenchmarking (Sources/GraftBenchmarking): the clock, the timing
// policy and statistics, the machine description, the bandwidth probe, the layouts and their
// data, the byte models, the optimizer rows and the graft-bench/1 JSON all come from there.
// What stays here: the C and Swift floors, the floor check, the sgemm probe, training steps,
// per-tensor overhead, snapshots and targets.

typealias Layout = ParameterLayout
typealias Clock = MonotonicClock

extension ParameterLayout {
    /// The standard layouts' names (`--layouts`).
    static let names = standardNames

    /// A standard layout (`single`, `equal100`; anything else is `mixed`, as `--layouts` only
    /// lets the three names through).
    static func make(_ name: String, size n: Int) -> ParameterLayout {
        switch name {
        case "single": return single(n)
        case "equal100": return equal(n, parts: 100)
        default: return mixed(n)
        }
    }
}
