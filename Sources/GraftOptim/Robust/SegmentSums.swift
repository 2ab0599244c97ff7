/// Up to six running sums of one segment for a reducing lane function: SIMD float
/// accumulators in the fast path, Double in the precise path (a redo after a float overflow).
public struct SegmentSums {
    @usableFromInline var f0 = SIMD8<Float>(), f1 = SIMD8<Float>(), f2 = SIMD8<Float>()
    @usableFromInline var f3 = SIMD8<Float>(), f4 = SIMD8<Float>(), f5 = SIMD8<Float>()
    @usableFromInline var d = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    @usableFromInline var precise = false

    @inlinable public init() {}

    /// Starts a segment.
    @inlinable public mutating func reset(precise: Bool) {
        self = SegmentSums()
        self.precise = precise
    }

    /// Adds eight lanes to sums 0–2.
    @inlinable @inline(__always) public mutating func add(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) {
        f0 += a; f1 += b; f2 += c
    }
    /// Adds eight lanes to sums 3–5.
    @inlinable @inline(__always) public mutating func addMore(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) {
        f3 += a; f4 += b; f5 += c
    }
    /// Adds one element's values to sums 0–2 (Double when precise).
    @inlinable @inline(__always) public mutating func add(_ a: Float, _ b: Float, _ c: Float,
                                                           precise pa: Double, _ pb: Double, _ pc: Double) {
        if precise { d.0 += pa; d.1 += pb; d.2 += pc } else { f0[0] += a; f1[0] += b; f2[0] += c }
    }
    /// Adds one element's values to sums 3–5 (Double when precise).
    @inlinable @inline(__always) public mutating func addMore(_ a: Float, _ b: Float, _ c: Float,
                                                               precise pa: Double, _ pb: Double, _ pc: Double) {
        if precise { d.3 += pa; d.4 += pb; d.5 += pc } else { f3[0] += a; f4[0] += b; f5[0] += c }
    }

    /// Passes the six 8-lane float accumulators to `body` as 48 contiguous floats (lane j of sum
    /// s at 8·s + j), for a native loop to add to in place; not in a precise segment.
    @inlinable public mutating func withLanes(_ body: (UnsafeMutablePointer<Float>) -> Void) {
        withUnsafeTemporaryAllocation(of: SIMD8<Float>.self, capacity: 6) { b in
            let base = b.baseAddress!
            base.initialize(to: f0); (base + 1).initialize(to: f1); (base + 2).initialize(to: f2)
            (base + 3).initialize(to: f3); (base + 4).initialize(to: f4); (base + 5).initialize(to: f5)
            body(UnsafeMutableRawPointer(base).assumingMemoryBound(to: Float.self))
            f0 = base[0]; f1 = base[1]; f2 = base[2]; f3 = base[3]; f4 = base[4]; f5 = base[5]
        }
    }

    /// Stores the first `width` sums at `out`; `false` (nothing stored) when a float sum is
    /// not finite, so the caller redoes the segment in Double.
    @inlinable public func store(_ width: Int, into out: UnsafeMutablePointer<Double>) -> Bool {
        if precise {
            let values = [d.0, d.1, d.2, d.3, d.4, d.5]
            for j in 0..<width { out[j] = values[j] }
            return true
        }
        let s0 = f0.sum(), s1 = f1.sum(), s2 = f2.sum(), s3 = f3.sum(), s4 = f4.sum(), s5 = f5.sum()
        guard s0.isFinite && s1.isFinite && s2.isFinite && s3.isFinite && s4.isFinite && s5.isFinite else { return false }
        out[0] = Double(s0)
        if width > 1 { out[1] = Double(s1) }
        if width > 2 { out[2] = Double(s2) }
        if width > 3 { out[3] = Double(s3) }
        if width > 4 { out[4] = Double(s4) }
        if width > 5 { out[5] = Double(s5) }
        return true
    }
}
