import Testing
import GraftTensor

/// Issue 13: tensor initialisers from shapes and element access from indices throw typed
/// errors for user data (what stays a trap keeps its message through `checkPrecondition`).
@Suite("Tensor user-input errors")
struct UserInputErrorTests {
    @Test func shapesFromUserDataThrow() throws {
        #expect(throws: TensorError.invalidShape(shape: [-1, 2], reason: "negative dimension -1")) { try Tensor(shape: [-1, 2]) }
        #expect(throws: TensorError.invalidShape(shape: [Int.max, 3], reason: "element count overflows")) {
            try Tensor(shape: [Int.max, 3], repeating: 1)
        }
        #expect(throws: TensorError.countMismatch(shape: [2, 2], expected: 4, actual: 3)) { try Tensor(shape: [2, 2], scalars: [1, 2, 3]) }
        let t = try Tensor(shape: [2, 3], repeating: 0.5)
        #expect(t == Tensor(repeating: 0.5, shape: [2, 3]))
        #expect(try Tensor(shape: [0, 4]).count == 0)
        #expect(try Tensor(shape: []).count == 1)
    }

    @Test func elementAccessThrows() throws {
        var t = try Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
        #expect(try t.element(at: [1, 2]) == 5)
        try t.setElement(9, at: [0, 1])
        #expect(t[0, 1] == 9)
        #expect(throws: TensorError.indexOutOfBounds(index: [2, 0], shape: [2, 3])) { try t.element(at: [2, 0]) }
        #expect(throws: TensorError.indexOutOfBounds(index: [0, -1], shape: [2, 3])) { try t.element(at: [0, -1]) }
        #expect(throws: TensorError.indexOutOfBounds(index: [1], shape: [2, 3])) { try t.setElement(1, at: [1]) }
        #expect(TensorError.indexOutOfBounds(index: [1], shape: [2, 3]).description == "index [1] has 1 entries, shape [2, 3] has rank 2")
        #expect(TensorError.indexOutOfBounds(index: [2, 0], shape: [2, 3]).description == "index [2, 0] out of bounds for shape [2, 3]")
        let scalar = try Tensor(shape: [], scalars: [7])
        #expect(try scalar.element(at: []) == 7)
    }
}
