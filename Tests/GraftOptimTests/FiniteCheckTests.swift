import Testing
@testable import GraftOptim

/// The parallel finiteness check (one contiguous share of all buffers per worker) reports exactly
/// what a plain forward scan does: the lowest buffer holding a NaN or an infinity.
@Suite("Finiteness check")
struct FiniteCheckTests {
    /// Buffer sizes that put the workers' boundary inside a buffer, with empty buffers between.
    static let sizes = [3, 0, 40_000, 1, 17, 0, 33_000, 16_384, 5, 70_001, 2]

    func check(badAt positions: [(buffer: Int, element: Int)]) -> (parallel: Int?, serial: Int?) {
        var buffers = Self.sizes.map { [Float](repeating: 0.5, count: $0) }
        for p in positions { buffers[p.buffer][p.element] = .nan }
        let pointers = buffers.map { b in b.withUnsafeBufferPointer { UnsafeBufferPointer(start: UnsafeMutablePointer(mutating: $0.baseAddress), count: $0.count) } }
        let parallel = withExtendedLifetime(buffers) {
            FiniteCheck.firstNonFinite(count: pointers.count, parallelThreshold: 0) { pointers[$0] }
        }
        let serial = positions.map(\.buffer).min()
        return (parallel, serial)
    }

    @Test func reportsTheLowestNonFiniteBuffer() {
        #expect(check(badAt: []).parallel == nil)
        let cases: [[(buffer: Int, element: Int)]] = [
            [(0, 0)], [(2, 39_999)], [(2, 20_000)], [(9, 70_000)], [(10, 1)], [(6, 16_383)], [(7, 0)],
            // Several: the lowest wins, whichever worker finds it.
            [(9, 3), (2, 5)], [(10, 0), (6, 32_999), (4, 16)], [(2, 39_000), (2, 1), (9, 0)],
        ]
        for positions in cases {
            let (parallel, serial) = check(badAt: positions)
            #expect(parallel == serial, "NaN at \(positions)")
        }
    }
}
