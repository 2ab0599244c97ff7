/// Adam's first and second moments of one tensor (Kingma & Ba, 2015), shared by the lanes of
/// Adam, RAdam and NAdam: `m ← β1 m + (1 − β1) g`, `v ← β2 v + (1 − β2) g²`, stored only when
/// the pass commits (a dry pass recomputes them for a later member's reduction).
public struct AdamMoments {
    @usableFromInline let m: UnsafeMutablePointer<Float>
    @usableFromInline let v: UnsafeMutablePointer<Float>
    @usableFromInline let beta1: Float, beta2: Float
    @usableFromInline let commit: Bool

    /// The moments in `m` and `v` with decays β1 and β2.
    @inlinable public init(m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, beta1: Float, beta2: Float, commit: Bool) {
        self.m = m
        self.v = v
        self.beta1 = beta1
        self.beta2 = beta2
        self.commit = commit
    }

    /// The new moments of the 8 elements from `i`, for gradient `g`.
    @inlinable @inline(__always)
    public func update(_ g: SIMD8<Float>, at i: Int) -> (m: SIMD8<Float>, v: SIMD8<Float>) {
        typealias V = SIMD8<Float>
        let mi = V(repeating: beta1) * Lane.load(m, i) + V(repeating: 1 - beta1) * g
        let vi = V(repeating: beta2) * Lane.load(v, i) + V(repeating: 1 - beta2) * g * g
        if commit { Lane.store(mi, m, i); Lane.store(vi, v, i) }
        return (mi, vi)
    }

    /// The new moments of element `i`, for gradient `g`.
    @inlinable @inline(__always)
    public func update(_ g: Float, at i: Int) -> (m: Float, v: Float) {
        let mi = beta1 * m[i] + (1 - beta1) * g
        let vi = beta2 * v[i] + (1 - beta2) * g * g
        if commit { m[i] = mi; v[i] = vi }
        return (mi, vi)
    }
}
