/// Bit-exact conversions between the 16-bit float formats and `Float`.
///
/// Both directions work on bit patterns, so they are portable (no `Float16` type needed)
/// and every F16 or BF16 value, including subnormals, infinities and NaN payloads that
/// fit, converts to the `Float` of exactly the same value.
public enum HalfPrecision {
    /// The `Float` equal to an IEEE binary16 value:
    /// `(−1)^s · 2^(e−15) · (1 + f/2¹⁰)` for `0 < e < 31`, `(−1)^s · 2^−14 · f/2¹⁰` for `e = 0`,
    /// ±∞ or NaN for `e = 31`.
    @inlinable public static func float(fromF16 bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1f
        let fraction = UInt32(bits & 0x3ff)
        if exponent == 0 {
            // Zero or subnormal: fraction · 2^−24, exact in Float (fraction < 2¹⁰).
            let magnitude = Float(fraction) * 0x1p-24
            return Float(bitPattern: magnitude.bitPattern | sign)
        }
        if exponent == 31 {
            return Float(bitPattern: sign | 0x7f80_0000 | (fraction << 13))
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (fraction << 13))
    }

    /// The `Float` equal to a bfloat16 value (its bits are the upper half of a binary32).
    @inlinable public static func float(fromBF16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// `x` rounded to the nearest bfloat16, ties to even; NaN maps to a quiet NaN of the same sign.
    @inlinable public static func bf16(from x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x0040) }
        let rounding = UInt32(0x7fff) + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }
}
