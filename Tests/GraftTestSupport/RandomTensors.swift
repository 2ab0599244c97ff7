import Synchronization
import GraftTensor

/// Large random tensors are generated once per process and shared: tests ask for the same
/// 10⁶-element operands many times, and generating them dominates a debug test run.
/// Sharing is safe because `Tensor` is a value type (a mutation copies first).
private let cache = Mutex<[String: Tensor]>([:])

/// Elements from which a random tensor is memoised.
private let cacheThreshold = 1 << 16

private func memoised(_ key: String, count: Int, _ make: () -> Tensor) -> Tensor {
    guard count >= cacheThreshold else { return make() }
    // Generate under the lock so concurrent tests asking for the same tensor wait for one
    // generation instead of each running their own.
    return cache.withLock { tensors in
        if let hit = tensors[key] { return hit }
        let t = make()
        tensors[key] = t
        return t
    }
}

/// A tensor of N(0, 1) samples from `SeededGenerator(seed: seed)`: the same seed gives
/// the same tensor on every machine.
public func randomNormalTensor(_ shape: [Int], seed: UInt64) -> Tensor {
    memoised("normal \(shape) \(seed)", count: (try? Tensor.elementCount(of: shape)) ?? 0) {
        var g = SeededGenerator(seed: seed)
        return Tensor.randomNormal(shape: shape, generator: &g)
    }
}

/// A tensor of uniform samples in `[lower, upper)` from `SeededGenerator(seed: seed)`.
public func randomUniformTensor(_ shape: [Int], lower: Float = 0, upper: Float = 1, seed: UInt64) -> Tensor {
    memoised("uniform \(shape) \(lower) \(upper) \(seed)", count: (try? Tensor.elementCount(of: shape)) ?? 0) {
        var g = SeededGenerator(seed: seed)
        return Tensor.randomUniform(shape: shape, lower: lower, upper: upper, generator: &g)
    }
}

/// A tensor of small integers drawn uniformly from `range` (as floats).
///
/// Float32 represents every integer up to 2²⁴ exactly, so sums and products of such
/// tensors are computed without rounding as long as every partial result stays below 2²⁴:
/// a reduction over them must match a `Double` reference exactly, whatever its order of
/// summation. That turns "close enough" into "equal" and catches a skipped or repeated
/// element that a tolerance on a long sum would hide.
public func randomIntegerTensor(_ shape: [Int], in range: ClosedRange<Int> = -3...3, seed: UInt64) -> Tensor {
    memoised("integer \(shape) \(range) \(seed)", count: (try? Tensor.elementCount(of: shape)) ?? 0) {
        var g = SeededGenerator(seed: seed)
        var t = Tensor(zeros: shape)
        let width = range.upperBound - range.lowerBound + 1
        t.withUnsafeMutableBufferPointer { buf in
            for i in 0..<buf.count { buf[i] = Float(range.lowerBound + g.next(below: width)) }
        }
        return t
    }
}

/// The scalars of `t` widened to `Double`, for reference computations.
public func doubles(_ t: Tensor) -> [Double] { widened(t.scalars) }
