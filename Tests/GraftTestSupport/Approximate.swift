import Testing
import GraftTensor

/// Parity tolerance used across the suite: `|a − b| ≤ absolute + relative · |b|`.
///
/// Two NaNs compare close (a kernel that should produce NaN did); a NaN and a number do not.
public func isClose(_ a: Float, _ b: Float, absolute: Float = 1e-5, relative: Float = 1e-4) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    return abs(a - b) <= absolute + relative * abs(b)
}

/// The unit roundoff of `Float`, `u = 2⁻²⁴`: one correctly rounded float32 operation has a
/// relative error of at most `u`. Tolerances in the suite are written as multiples of it.
public let floatRoundoff: Double = 0x1p-24

/// The first element where two arrays differ by more than their tolerance.
public struct Mismatch: CustomStringConvertible, Sendable {
    /// Position of the element in the (row-major) arrays.
    public var index: Int
    /// The value under test.
    public var actual: Double
    /// The reference value.
    public var expected: Double
    /// The allowed absolute difference at `index`.
    public var tolerance: Double
    /// How many elements in total were out of tolerance.
    public var failures: Int

    /// For example `element 17: got 0.25, expected 0.5 (|diff| 0.25 > tolerance 1e-06); 3 elements differ`.
    public var description: String {
        "element \(index): got \(actual), expected \(expected) (|diff| \(abs(actual - expected)) > tolerance \(tolerance))"
            + (failures > 1 ? "; \(failures) elements differ" : "")
    }
}

/// Compares `actual` with `expected` elementwise and returns the first element where
/// `|actual[i] − expected[i]| > tolerance(i)`, or `nil` when every element is within
/// tolerance. NaN matches only NaN; an infinity matches only the same infinity.
/// - Precondition: both arrays have the same count (use `expectClose` to get a recorded
///   issue instead).
public func firstMismatch(_ actual: [Double], _ expected: [Double], tolerance: (Int) -> Double) -> Mismatch? {
    precondition(actual.count == expected.count, "counts \(actual.count) and \(expected.count) differ")
    var first: Mismatch?
    var failures = 0
    // Plain index loops: these helpers run over 10⁶-element tensors in debug builds.
    actual.withUnsafeBufferPointer { a in
        expected.withUnsafeBufferPointer { e in
            for i in 0..<a.count {
                let x = a[i], y = e[i]
                let ok: Bool
                if x.isNaN || y.isNaN { ok = x.isNaN && y.isNaN }
                else if x.isInfinite || y.isInfinite { ok = x == y }
                else { ok = abs(x - y) <= tolerance(i) }
                if !ok {
                    failures += 1
                    if first == nil { first = Mismatch(index: i, actual: x, expected: y, tolerance: tolerance(i), failures: 0) }
                }
            }
        }
    }
    first?.failures = failures
    return first
}

/// Records a test issue unless `actual` and `expected` have the same count and agree
/// elementwise within `tolerance(i)` (see `firstMismatch`). The message names the first
/// bad index, both values and how many elements differ, prefixed by `label`.
public func expectClose(_ actual: [Double], _ expected: [Double], _ label: @autoclosure () -> String = "",
                        tolerance: (Int) -> Double, sourceLocation: SourceLocation = #_sourceLocation) {
    let prefix = label().isEmpty ? "" : label() + ": "
    guard actual.count == expected.count else {
        Issue.record("\(prefix)counts differ: got \(actual.count) elements, expected \(expected.count)",
                     sourceLocation: sourceLocation)
        return
    }
    if let m = firstMismatch(actual, expected, tolerance: tolerance) {
        Issue.record("\(prefix)\(m) [of \(actual.count)]", sourceLocation: sourceLocation)
    }
}

/// `expectClose` with one tolerance for every element: `absolute + relative · |expected[i]|`.
public func expectClose(_ actual: [Float], _ expected: [Double], _ label: @autoclosure () -> String = "",
                        absolute: Double = 0, relative: Double = 0, sourceLocation: SourceLocation = #_sourceLocation) {
    expectClose(widened(actual), expected, label(),
                tolerance: { i in absolute + relative * abs(expected[i]) }, sourceLocation: sourceLocation)
}

/// Records a test issue unless `actual` equals `expected` elementwise, treating `0` and
/// `−0` as equal and NaN as equal to NaN. Use it where float32 arithmetic is exact or
/// correctly rounded, so any difference is a bug.
public func expectIdentical(_ actual: [Float], _ expected: [Float], _ label: @autoclosure () -> String = "",
                            sourceLocation: SourceLocation = #_sourceLocation) {
    expectClose(widened(actual), widened(expected), label(), tolerance: { _ in 0 }, sourceLocation: sourceLocation)
}

/// Whether two arrays hold the same bit patterns (stricter than `==`: distinguishes `0`
/// from `−0` and compares NaN payloads). For determinism checks.
public func bitwiseEqual(_ a: [Float], _ b: [Float]) -> Bool {
    guard a.count == b.count else { return false }
    return a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            for i in 0..<pa.count where pa[i].bitPattern != pb[i].bitPattern { return false }
            return true
        }
    }
}

/// `xs` converted to `Double` (exact), with a plain loop that stays fast in debug builds.
public func widened(_ xs: [Float]) -> [Double] {
    // Swift's `Array(unsafeUninitializedCapacity: 0)` stores the count into the shared empty-array
    // singleton, which ThreadSanitizer reports as a race between tests running in parallel.
    guard !xs.isEmpty else { return [] }
    return [Double](unsafeUninitializedCapacity: xs.count) { out, initialized in
        xs.withUnsafeBufferPointer { src in
            for i in 0..<src.count { out[i] = Double(src[i]) }
        }
        initialized = xs.count
    }
}
