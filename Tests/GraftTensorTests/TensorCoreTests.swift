import Testing
import GraftTensor
import GraftTestSupport

@Suite("Tensor construction, shapes and errors")
struct TensorCoreTests {
    @Test func countMismatchNamesShapeAndBothCounts() {
        #expect(throws: TensorError.countMismatch(shape: [2, 3], expected: 6, actual: 5)) {
            try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5])
        }
        let message = TensorError.countMismatch(shape: [2, 3], expected: 6, actual: 5).description
        #expect(message.contains("[2, 3]") && message.contains("6") && message.contains("5"))
        #expect(throws: TensorError.countMismatch(shape: [4], expected: 4, actual: 6)) {
            try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]).reshaped(to: [4])
        }
    }

    @Test func elementCounts() throws {
        #expect(try Tensor.elementCount(of: []) == 1)
        #expect(try Tensor.elementCount(of: [0]) == 0)
        #expect(try Tensor.elementCount(of: [3, 0, 5]) == 0)
        #expect(try Tensor.elementCount(of: [7, 5, 3]) == 105)
        #expect(try Tensor.elementCount(of: [Int.max]) == Int.max)
    }

    @Test func negativeDimensionsAreRejected() {
        #expect(throws: TensorError.invalidShape(shape: [2, -1], reason: "negative dimension -1")) {
            try Tensor(shape: [2, -1], scalars: [])
        }
        #expect(throws: TensorError.self) { try Tensor.elementCount(of: [-1, 0]) }
        #expect(throws: TensorError.self) { try Tensor.elementCount(of: [0, -1]) }
        let message = TensorError.invalidShape(shape: [2, -1], reason: "negative dimension -1").description
        #expect(message.contains("[2, -1]"))
    }

    @Test(arguments: [[Int.max, 2], [1 << 32, 1 << 32], [2, Int.max / 2 + 1],
                      [Int.max, Int.max, 0], [0, Int.max, Int.max]])
    func overflowingShapesAreRejected(shape: [Int]) {
        // A shape whose non-zero dimensions overflow is rejected whatever the order of its
        // dimensions (its strides would overflow even when a zero makes the count 0).
        #expect(throws: TensorError.invalidShape(shape: shape, reason: "element count overflows")) {
            try Tensor.elementCount(of: shape)
        }
    }

    @Test func negativeShapeTrapsInNonThrowingInitialiser() async {
        await #expect(processExitsWith: .failure) { _ = Tensor(zeros: [3, -2]) }
    }

    @Test func constructors() throws {
        let scalar = Tensor(zeros: [])
        #expect(scalar.shape == [] && scalar.count == 1 && scalar.rank == 0 && scalar.scalars == [0])
        let filled = Tensor(repeating: 2.5, shape: [2, 3])
        #expect(filled.count == 6 && filled.scalars.allSatisfy { $0 == 2.5 })
        let empty = Tensor(zeros: [0, 4])
        #expect(empty.count == 0 && empty.rank == 2)
        let v = Tensor([1, 2, 3])
        #expect(v.shape == [3] && v.scalars == [1, 2, 3])
        let m = try Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
        #expect(m[1, 2] == 5 && m[0, 1] == 1 && m[flat: 4] == 4)
        let r = try m.reshaped(to: [3, 2])
        #expect(r.shape == [3, 2] && r.scalars == m.scalars && r[2, 0] == 4)
    }

    @Test func subscriptsWriteRowMajor() throws {
        var t = Tensor(zeros: [2, 3, 4])
        t[1, 2, 3] = 7
        t[0, 1, 0] = 3
        #expect(t[flat: 1 * 12 + 2 * 4 + 3] == 7)
        #expect(t[flat: 4] == 3)
        #expect(t.scalars.filter { $0 != 0 }.count == 2)
    }

    @Test func outOfBoundsIndexTraps() async {
        await #expect(processExitsWith: .failure) {
            let t = Tensor(zeros: [2, 3])
            _ = t[0, 3]
        }
    }

    @Test func rowGeometry() {
        #expect(Tensor(zeros: []).rowCount == 1 && Tensor(zeros: []).rowLength == 1)
        #expect(Tensor(zeros: [0]).rowCount == 0 && Tensor(zeros: [0]).rowLength == 0)
        #expect(Tensor(zeros: [7, 5, 3]).rowCount == 7 && Tensor(zeros: [7, 5, 3]).rowLength == 15)
        #expect(Tensor(zeros: [3, 0]).rowCount == 3 && Tensor(zeros: [3, 0]).rowLength == 0)
    }

    @Test func equalityIncludesShape() throws {
        let a = try Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        let b = try Tensor(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
        #expect(a != b)
        #expect(a == (try b.reshaped(to: [2, 3])))
        #expect(a.hashValue == (try b.reshaped(to: [2, 3])).hashValue)
    }

    @Test func descriptionShowsShapeAndPreview() {
        let short = Tensor([1, 2])
        #expect(short.description == "Tensor(shape: [2], [1.0, 2.0])")
        let long = Tensor(zeros: [3, 4])
        #expect(long.description.hasPrefix("Tensor(shape: [3, 4], [0.0, 0.0"))
        #expect(long.description.hasSuffix(", …])"))
    }

    @Test func copiesNeverAlias() throws {
        let original = randomNormalTensor([5, 4], seed: 11)
        let snapshot = original.scalars

        var a = original
        a[flat: 0] = 1000
        var b = original
        try b.add(original)
        var c = original
        c.withUnsafeMutableBufferPointer { $0[3] = -1 }
        var d = original
        d.scale(by: 3)
        var e = original
        try e.addScaled(original, by: 2)
        var f = original
        f.fill(with: 0)

        #expect(original.scalars == snapshot)
        #expect(a[flat: 0] == 1000 && c[flat: 3] == -1 && f.scalars.allSatisfy { $0 == 0 })
        #expect(b != original && d != original && e != original)
    }

    @Test func parameterStartsWithZeroGradient() {
        let value = randomNormalTensor([3, 2], seed: 5)
        let p = Parameter(value)
        #expect(p.shape == [3, 2] && p.value == value)
        #expect(p.gradient == Tensor(zeros: [3, 2]))
        #expect(p.isTrainable && p.anchor == .initial)
        let frozen = Parameter(value, trainable: false, anchor: .none)
        #expect(!frozen.isTrainable && frozen.anchor == AnchorKind.none)
    }

    @Test func zeroGradientClearsInPlaceAndKeepsCopiesIntact() throws {
        let p = Parameter(Tensor(zeros: [4, 3]))
        p.gradient = randomNormalTensor([4, 3], seed: 9)
        let before = p.gradient.withUnsafeBufferPointer { $0.baseAddress }
        p.zeroGradient()
        let after = p.gradient.withUnsafeBufferPointer { $0.baseAddress }
        #expect(p.gradient == Tensor(zeros: [4, 3]))
        #expect(before == after, "zeroGradient reallocated a uniquely referenced gradient")

        p.gradient = randomNormalTensor([4, 3], seed: 10)
        let held = p.gradient
        p.zeroGradient()
        #expect(p.gradient == Tensor(zeros: [4, 3]))
        #expect(held == randomNormalTensor([4, 3], seed: 10), "a copy of the gradient was cleared too")
    }

    @Test func parameterIsSharedByReference() throws {
        let p = Parameter(Tensor([1, 2, 3]))
        let alias = p
        let valueCopy = p.value
        try alias.value.addScaled(Tensor([1, 1, 1]), by: -0.5)
        #expect(p.value.scalars == [0.5, 1.5, 2.5])
        #expect(valueCopy.scalars == [1, 2, 3])
    }
}
