import Foundation
import GraftSafetensors
import GraftTensor
import Testing

/// Files written by the Python `safetensors` library (`Tools/safetensors/make_fixtures.py`)
/// read bit-exactly: every element equals torch's `.to(torch.float32)` of the stored value.
@Suite("Reading files written by Python safetensors")
struct FixtureReadingTests {
    struct Expected: Decodable {
        struct Entry: Decodable { var dtype: String; var shape: [Int]; var bits: [UInt32] }
        var metadata: [String: String]
        var tensors: [String: Entry]
    }

    func check(_ name: String) throws {
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: safetensorsFixtures.appendingPathComponent(name + ".expected.json")))
        let file = try SafetensorsFile(path: safetensorsFixtures.appendingPathComponent(name + ".safetensors").path)
        #expect(file.metadata == expected.metadata)
        #expect(Set(file.names) == Set(expected.tensors.keys))
        for (tensorName, e) in expected.tensors {
            let t = try file.tensor(named: tensorName)
            #expect(t.shape == e.shape, "\(tensorName)")
            // NaN payloads are not compared: torch widens every F16 NaN to 0x7fffffff, Graft keeps
            // the payload bits (both are NaN).
            let bits = zip(t.scalars, e.bits).map { actual, expected in
                Float(bitPattern: expected).isNaN && actual.isNaN ? expected : actual.bitPattern
            }
            #expect(bits == e.bits, "\(tensorName) (\(e.dtype))")
            #expect(t.count == e.bits.count)
        }
    }

    @Test func mixedDTypesScalarsEmptyTensorsAndMetadata() throws {
        try check("python_mixed")
        let file = try SafetensorsFile(path: safetensorsFixtures.appendingPathComponent("python_mixed.safetensors").path)
        #expect(file.entry("half")?.dtype == .f16)
        #expect(file.entry("brain")?.dtype == .bf16)
        #expect(file.entry("double")?.dtype == .f64)
        #expect(file.entry("scalar")?.shape == [])
        #expect(try file.tensor(named: "scalar").scalars == [2.75])
        #expect(try file.tensor(named: "empty").shape == [0, 4])
        #expect(try file.tensor(named: "empty_bf16").shape == [3, 0])
        #expect(file.metadata["unicode"] == "μ ✓ \"quoted\"\nline")
    }

    @Test func fileWithoutMetadata() throws { try check("python_no_metadata") }

    @Test func fileWithoutTensors() throws {
        try check("python_empty_file")
        #expect(try Safetensors.read(path: safetensorsFixtures.appendingPathComponent("python_empty_file.safetensors").path).tensors.isEmpty)
    }

    @Test func missingTensorIsNamed() throws {
        let path = safetensorsFixtures.appendingPathComponent("python_no_metadata.safetensors").path
        let file = try SafetensorsFile(path: path)
        #expect(throws: SafetensorsError.missingTensor(file: path, tensor: "nope")) { try file.tensor(named: "nope") }
    }

    /// The Python library's layout for a single-dtype file is exactly what Graft writes.
    @Test func graftEncodesTheSameBytesAsPython() throws {
        let python = try Data(contentsOf: safetensorsFixtures.appendingPathComponent("python_no_metadata.safetensors"))
        let graft = try SafetensorsWriter.encode(["w": Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])])
        #expect(graft == Array(python))
    }
}

@Suite("16-bit conversions")
struct HalfPrecisionTests {
    /// Every F16 bit pattern converts to the value the format defines, computed in Double.
    @Test func everyF16PatternIsExact() {
        for bits in 0...UInt16.max {
            let f = HalfPrecision.float(fromF16: bits)
            let sign: Double = bits & 0x8000 == 0 ? 1 : -1
            let e = Int(bits >> 10) & 0x1f, m = Double(bits & 0x3ff)
            if e == 31 {
                if m == 0 { #expect(f == Float(sign * .infinity)) } else { #expect(f.isNaN) }
                continue
            }
            let value = e == 0 ? sign * m * 0x1p-24 : sign * (1 + m / 1024) * Double(sign: .plus, exponent: e - 15, significand: 1)
            #expect(Double(f) == value && f.sign == (sign < 0 ? .minus : .plus), "bits \(bits)")
        }
    }

    @Test func bf16RoundsToNearestEvenAndRoundTrips() {
        for bits in stride(from: 0, through: Int(UInt16.max), by: 1) where !HalfPrecision.float(fromBF16: UInt16(bits)).isNaN {
            #expect(HalfPrecision.bf16(from: HalfPrecision.float(fromBF16: UInt16(bits))) == UInt16(bits))
        }
        // 1 + 2⁻⁸ lies halfway between 1 and 1 + 2⁻⁷: ties go to the even pattern (1).
        #expect(HalfPrecision.bf16(from: 1 + 0x1p-8) == 0x3f80)
        #expect(HalfPrecision.bf16(from: 1 + 0x1p-8 + 0x1p-20) == 0x3f81)
        #expect(HalfPrecision.bf16(from: 1 + 3 * 0x1p-8) == 0x3f82)
        #expect(HalfPrecision.bf16(from: .greatestFiniteMagnitude) == 0x7f80)  // rounds up to +∞
        #expect(HalfPrecision.float(fromBF16: HalfPrecision.bf16(from: .nan)).isNaN)
    }
}
