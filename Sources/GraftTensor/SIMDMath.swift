#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Vector math the standard library does not vectorise on Linux.
public enum SIMDMath {
    /// The correctly rounded square root of every lane (IEEE `sqrt`, as `Float.squareRoot()`).
    ///
    /// `SIMD8<Float>.squareRoot()` and `Float.squareRoot()` compile to one `sqrtss` plus a
    /// guarded call to libm's `sqrtf` per lane on Linux (the C shim is built with
    /// `-fmath-errno`), which keeps loops such as Adam's scalar; on x86-64 this uses `sqrtps`.
    @inlinable @inline(__always)
    public static func squareRoot(_ v: SIMD8<Float>) -> SIMD8<Float> {
        #if arch(x86_64)
        return SIMD8(lowHalf: _mm_sqrt_ps(v.lowHalf), highHalf: _mm_sqrt_ps(v.highHalf))
        #else
        return v.squareRoot()
        #endif
    }
}
