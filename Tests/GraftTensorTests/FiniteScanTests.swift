import Testing
import GraftTensor

/// `Vector.allFinite`: inline below 16 elements, the C bit test (`graft_all_finite`) from 16 on.
/// Every non-finite kind at every position is found; every finite kind (subnormals, −0, the
/// largest float) passes.
@Suite("Finiteness scan")
struct FiniteScanTests {
    func allFinite(_ x: [Float]) -> Bool { x.withUnsafeBufferPointer { Vector.allFinite($0) } }

    @Test(arguments: [0, 1, 7, 15, 16, 17, 31, 64, 100, 1003])
    func findsEveryNonFiniteValueAtEveryPosition(count: Int) {
        let finite = (0..<count).map { Float($0 % 13) - 6 }
        #expect(allFinite(finite))
        for position in 0..<count {
            for bad in [Float.nan, -Float.nan, Float.signalingNaN, .infinity, -.infinity] {
                var x = finite
                x[position] = bad
                #expect(!allFinite(x), "\(bad) at \(position) of \(count)")
            }
        }
    }

    @Test func finiteExtremesPass() {
        for count in [3, 40] {
            let x = (0..<count).map { i -> Float in
                [Float.leastNonzeroMagnitude, -.leastNormalMagnitude / 2, -0.0, .greatestFiniteMagnitude,
                 -.greatestFiniteMagnitude][i % 5]
            }
            #expect(allFinite(x), "\(count) elements")
        }
    }
}
