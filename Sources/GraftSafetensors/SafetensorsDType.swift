/// A safetensors element type: the names are the format's `dtype` strings.
///
/// Graft reads the four floating-point types into `Float` and writes `F32` or `BF16`; the
/// other names of the reference implementation are recognised, so a file holding them is
/// validated like any other and only reading such a tensor is refused (`unsupportedDType`).
public enum SafetensorsDType: String, CaseIterable, Sendable {
    /// IEEE 754 binary32.
    case f32 = "F32"
    /// IEEE 754 binary16 (1 sign, 5 exponent, 10 fraction bits).
    case f16 = "F16"
    /// bfloat16: the upper 16 bits of a binary32.
    case bf16 = "BF16"
    /// IEEE 754 binary64.
    case f64 = "F64"
    /// Boolean and integer types (validated, not converted).
    case bool = "BOOL", u8 = "U8", i8 = "I8", i16 = "I16", u16 = "U16", i32 = "I32", u32 = "U32"
    /// 64-bit integers and the 8-bit float types (validated, not converted).
    case i64 = "I64", u64 = "U64", f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2", f8e8m0 = "F8_E8M0"
    /// 4- and 6-bit float types (packed across bytes) and complex64 (validated, not converted).
    case f4 = "F4", f6e2m3 = "F6_E2M3", f6e3m2 = "F6_E3M2", c64 = "C64"

    /// Bits per element (the sub-byte types F4 and F6 pack elements across bytes).
    public var bitSize: Int {
        switch self {
        case .f4: return 4
        case .f6e2m3, .f6e3m2: return 6
        case .bool, .u8, .i8, .f8e4m3, .f8e5m2, .f8e8m0: return 8
        case .f16, .bf16, .i16, .u16: return 16
        case .f32, .i32, .u32: return 32
        case .f64, .i64, .u64, .c64: return 64
        }
    }

    /// Bytes per element (for the byte-sized types Graft converts; sub-byte types round down).
    public var size: Int { bitSize / 8 }

    /// Whether `Safetensors` converts this type to `Float` when reading.
    public var isReadable: Bool { self == .f32 || self == .f16 || self == .bf16 || self == .f64 }
}

/// The element types Graft writes.
public enum SafetensorsWriteType: Sendable {
    /// Exact `Float` values (4 bytes each).
    case f32
    /// bfloat16, rounded to nearest even (2 bytes each; NaN stays NaN).
    case bf16

    /// The dtype written to the header.
    public var dtype: SafetensorsDType { self == .f32 ? .f32 : .bf16 }
}
