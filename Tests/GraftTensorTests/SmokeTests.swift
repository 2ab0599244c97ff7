import Testing
import GraftTensor

@Test func tensorCountMismatchThrows() {
    #expect(throws: TensorError.countMismatch(shape: [2, 2], expected: 4, actual: 3)) {
        try Tensor(shape: [2, 2], scalars: [1, 2, 3])
    }
}
