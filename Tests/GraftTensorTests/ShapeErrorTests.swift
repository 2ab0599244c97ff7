import Testing
import GraftTensor
import GraftTestSupport

/// Every operation that takes two tensors throws `shapeMismatch` on incompatible shapes,
/// and the message names both shapes (no broadcasting, no silent truncation).
@Suite("Shape errors name both shapes")
struct ShapeErrorTests {
    static let lhs = Tensor(zeros: [2, 3]), rhs = Tensor(zeros: [3, 2])

    static let binaryOperations: [(String, @Sendable (Tensor, Tensor) throws -> Void)] = [
        ("+", { _ = try $0 + $1 }), ("-", { _ = try $0 - $1 }), ("*", { _ = try $0 * $1 }), ("/", { _ = try $0 / $1 }),
        ("add", { var a = $0; try a.add($1) }), ("subtract", { var a = $0; try a.subtract($1) }),
        ("multiply", { var a = $0; try a.multiply(by: $1) }), ("divide", { var a = $0; try a.divide(by: $1) }),
        ("addScaled", { var a = $0; try a.addScaled($1, by: 2) }),
        ("scaleAndAdd", { var a = $0; try a.scaleAndAdd($1, alpha: 1, beta: 1) }),
        ("dot", { _ = try $0.dot($1) }), ("rowDots", { _ = try $0.rowDots($1) }),
    ]

    /// Runs `body`, expecting a `shapeMismatch` whose message contains both shapes.
    func expectShapeMismatch(_ name: String, _ a: [Int], _ b: [Int], _ body: () throws -> Void,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try body()
            Issue.record("\(name) accepted shapes \(a) and \(b)", sourceLocation: sourceLocation)
        } catch let error as TensorError {
            guard case .shapeMismatch = error else {
                Issue.record("\(name) threw \(error), expected shapeMismatch", sourceLocation: sourceLocation)
                return
            }
            let message = error.description
            #expect(message.contains("\(a)") && message.contains("\(b)"), "\(name): \(message)",
                    sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(name) threw \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func elementwiseAndReductions() {
        for (name, operation) in Self.binaryOperations {
            expectShapeMismatch(name, [2, 3], [3, 2]) { try operation(Self.lhs, Self.rhs) }
            // Same element count, different rank: still a mismatch.
            expectShapeMismatch(name, [2, 3], [6]) { try operation(Self.lhs, Tensor(zeros: [6])) }
            // A scalar does not broadcast.
            expectShapeMismatch(name, [2, 3], []) { try operation(Self.lhs, Tensor(zeros: [])) }
        }
    }

    @Test func operandIsUntouchedWhenAnInPlaceOperationThrows() {
        var a = Tensor([1, 2, 3])
        #expect(throws: TensorError.self) { try a.add(Tensor([1, 2])) }
        #expect(throws: TensorError.self) { try a.addScaled(Tensor([1, 2]), by: 3) }
        #expect(a.scalars == [1, 2, 3])
    }

    @Test func matrixOperations() {
        let a = Tensor(zeros: [3, 7]), b = Tensor(zeros: [5, 4])
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            expectShapeMismatch("matmul \(ta) \(tb)", [3, 7], [5, 4]) {
                _ = try Tensor.matmul(a, transposed: ta, b, transposed: tb)
            }
        }
        expectShapeMismatch("matvec", [3, 7], [5]) { _ = try Tensor.matvec(a, Tensor(zeros: [5])) }
        expectShapeMismatch("matvec transposed", [3, 7], [7]) { _ = try Tensor.matvec(a, transposed: true, Tensor(zeros: [7])) }
        expectShapeMismatch("addRowBias", [3, 7], [3]) { var m = a; try m.addRowBias(Tensor(zeros: [3])) }
        expectShapeMismatch("addRowBias rank", [3, 7], [1, 7]) { var m = a; try m.addRowBias(Tensor(zeros: [1, 7])) }
        expectShapeMismatch("addRowBias on vector", [7], [7]) { var v = Tensor(zeros: [7]); try v.addRowBias(Tensor(zeros: [7])) }
    }

    @Test func errorDescriptions() {
        #expect(TensorError.shapeMismatch(operation: "add", lhs: [2, 3], rhs: [3, 2]).description
                == "add: shapes [2, 3] and [3, 2] do not match")
        #expect(TensorError.rankMismatch(operation: "matmul", expected: 2, shape: [4]).description
                == "matmul: expected a rank-2 tensor, got shape [4]")
    }
}
