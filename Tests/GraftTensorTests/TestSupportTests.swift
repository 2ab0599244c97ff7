import Foundation
import Testing
import GraftTensor
import GraftTestSupport

/// The shared helpers must themselves be able to fail.
@Suite("GraftTestSupport helpers")
struct TestSupportTests {
    @Test func isCloseUsesAbsoluteAndRelativeTolerance() {
        #expect(isClose(1, 1.00005))
        #expect(!isClose(1, 1.001))
        #expect(isClose(0, 5e-6) && !isClose(0, 5e-5))
        #expect(isClose(.nan, .nan) && !isClose(.nan, 0))
    }

    @Test func firstMismatchReportsIndexValuesAndCount() {
        let m = firstMismatch([1, 2, 3.5, 4, 9], [1, 2, 3, 4, 5], tolerance: { _ in 0.1 })
        #expect(m?.index == 2 && m?.actual == 3.5 && m?.expected == 3 && m?.failures == 2)
        #expect(m?.description == "element 2: got 3.5, expected 3.0 (|diff| 0.5 > tolerance 0.1); 2 elements differ")
        #expect(firstMismatch([1, .nan, .infinity], [1.05, .nan, .infinity], tolerance: { _ in 0.1 }) == nil)
        #expect(firstMismatch([.infinity], [1e300], tolerance: { _ in .infinity })?.index == 0)
        #expect(firstMismatch([.nan], [0], tolerance: { _ in 1 })?.index == 0)
    }

    @Test func numericalGradientOfKnownFunctions() {
        let x = randomNormalTensor([3, 4], seed: 51)
        // f(x) = Σ xᵢ² + 3·Σ xᵢ, ∇f = 2x + 3.
        let g = numericalGradient(of: { t in t.scalars.reduce(0.0) { $0 + Double($1) * Double($1) + 3 * Double($1) } }, at: x)
        let analytic = x.scalars.map { 2 * Double($0) + 3 }
        #expect(gradientRelativeError(analytic: analytic, numerical: g) < 1e-6)
        // A wrong gradient (missing the constant) is far off.
        #expect(gradientRelativeError(analytic: x.scalars.map { 2 * Double($0) }, numerical: g) > 0.1)
        // f(x) = Σ sin(xᵢ) · xᵢ: curvature, so the O(h²) truncation term matters.
        let h = numericalGradient(of: { t in t.scalars.reduce(0.0) { $0 + sin(Double($1)) * Double($1) } }, at: x)
        let exact = x.scalars.map { v in sin(Double(v)) + Double(v) * cos(Double(v)) }
        #expect(gradientRelativeError(analytic: exact, numerical: h) < 1e-5)
    }

    @Test func gradientRelativeErrorEdgeCases() {
        #expect(gradientRelativeError(analytic: [0, 0], numerical: [0, 0]) == 0)
        #expect(gradientRelativeError(analytic: [1, 0], numerical: [0, 1]) == 2.0.squareRoot())
        #expect(gradientRelativeError(analytic: [], numerical: []) == 0)
    }

    @Test func randomHelpersAreSeededAndInRange() {
        #expect(randomNormalTensor([10], seed: 1) == randomNormalTensor([10], seed: 1))
        #expect(randomNormalTensor([10], seed: 1) != randomNormalTensor([10], seed: 2))
        let ints = randomIntegerTensor([1000], in: -2...2, seed: 3)
        #expect(Set(ints.scalars) == [-2, -1, 0, 1, 2])
        let uniform = randomUniformTensor([1000], lower: 2, upper: 4, seed: 4)
        #expect(uniform.scalars.allSatisfy { $0 >= 2 && $0 < 4 })
        #expect(doubles(Tensor([1.5, -2])) == [1.5, -2])
    }

    @Test func fixtureLocatorFindsTheFixturesFolder() throws {
        #expect(fixturesDirectory.lastPathComponent == "Fixtures")
        #expect(FileManager.default.fileExists(atPath: fixtureURL("xoshiro256starstar.json").path))
        #expect(!FileManager.default.fileExists(atPath: fixtureURL("no-such-fixture.json").path))
        #expect(throws: (any Error).self) { try loadJSONFixture("no-such-fixture.json", as: [String].self) }
    }
}
