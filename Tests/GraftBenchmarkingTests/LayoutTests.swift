import GraftBenchmarking
import GraftOptim
import GraftTensor
import Testing

/// The standard layouts (as Benchmarks/README.md describes them), user shapes and (path, shape) pairs.
@Suite("GraftBenchmarking: layouts")
struct LayoutTests {
    @Test("standard layouts at 10^6: single, equal100, mixed")
    func standard() throws {
        let single = try ParameterLayout.standard("single", size: 1_000_000)
        #expect(single.tensors.map(\.shape) == [[1000, 1000]])
        let equal = try ParameterLayout.standard("equal100", size: 1_000_000)
        #expect(equal.tensors.count == 100 && equal.tensors[0].shape == [100, 100] && equal.parameterCount == 1_000_000)
        let mixed = try ParameterLayout.standard("mixed", size: 1_000_000)
        #expect(mixed.tensors.count == 63 && mixed.parameterCount == 999_946)
        #expect(mixed.tensors.last?.path == "head.bias" && mixed.tensors.last?.anchored == false)
        #expect(mixed.defaultSeed == 1_000_005)
        #expect(throws: BenchmarkError.self) { try ParameterLayout.standard("huge", size: 1_000_000) }
        #expect(throws: BenchmarkError.self) { try ParameterLayout.standard("mixed", size: 10) }
    }

    @Test("user shapes; a bad dimension or a duplicate path names the tensor")
    func shapes() throws {
        let l = try ParameterLayout(name: "mine", shapes: [[768, 768], [768]])
        #expect(l.tensors.map(\.path) == ["t.0", "t.1"] && l.parameterCount == 768 * 769 && l.nominalSize == 768 * 769)
        do {
            _ = try ParameterLayout(name: "bad", shapes: [[3, 4], [5, 0]])
            Issue.record("a zero dimension was accepted")
        } catch let e as BenchmarkError {
            #expect(e.description.contains("t.1") && e.description.contains("[5, 0]"))
        }
        #expect(throws: BenchmarkError.self) {
            try ParameterLayout(name: "dup", parameters: [(path: "w", shape: [2]), (path: "w", shape: [3])])
        }
        #expect(throws: BenchmarkError.self) { try ParameterLayout(name: "empty", shapes: []) }
    }

    @Test("(path, shape) pairs and named parameters map to a layout in one line")
    func fromParameters() throws {
        let parameters = [NamedParameter(path: "fc.weight", parameter: Parameter(Tensor(zeros: [4, 3]))),
                          NamedParameter(path: "head.bias", parameter: Parameter(Tensor(zeros: [4]), anchor: .none))]
        let a = try ParameterLayout(name: "model", parameters: parameters.map { ($0.path, $0.parameter.shape) })
        #expect(a.tensors.map(\.path) == ["fc.weight", "head.bias"] && a.tensors.map(\.shape) == [[4, 3], [4]])
        let b = try ParameterLayout(name: "model", namedParameters: parameters)
        #expect(b.tensors.map(\.anchored) == [true, false] && b.parameterCount == 16)
    }

    @Test("layout data is reproducible from its seed, with anchors only where anchored")
    func data() throws {
        let layout = try ParameterLayout(name: "d", tensors: [TensorSpec(path: "a", shape: [3, 2]), TensorSpec(path: "b", shape: [2], anchored: false)])
        let x = try LayoutData(layout, seed: 3), y = try LayoutData(layout, seed: 3)
        #expect(x.values[0].scalars == y.values[0].scalars && x.gradients[3][1].scalars == y.gradients[3][1].scalars)
        #expect(x.anchors[0] != nil && x.anchors[1] == nil && x.anchorsByPath.keys.sorted() == ["a"])
        #expect(x.objectives(2).count == 2 && x.makeParameters().map(\.path) == ["a", "b"])
    }
}
