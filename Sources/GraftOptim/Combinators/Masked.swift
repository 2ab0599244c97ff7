/// A member that acts only on the tensors a selector picks inside a group; on the others it is
/// the identity (optax's `masked`):
///
///     u_k ← inner(u_k)   if selector(k)
///     u_k ← u_k          otherwise
///
/// The usual use is no weight decay on biases and norms while one group (and one Adam) covers
/// everything:
/// ```swift
/// import GraftOptim
///
/// let adamW = try chain {
///     try ScaleByAdam()
///     try Masked(.rank(atLeast: 2), AddDecayedWeights(0.01))   // weight matrices only
///     try ScaleByLearningRate(1e-3)
/// }
/// ```
/// The inner member keeps state only for the selected tensors (an Adam inside a mask costs
/// 8 B per *selected* element). A fusable inner member stays fused: `Masked<Inner>` is itself a
/// `FusableTransform` then, and a chain of masked and plain elementwise members is still one
/// kernel. An erased inner member (`AnyGradientTransform`, e.g. from a trace recipe) runs on
/// the selected tensors through its own kernel, unfused with its neighbours. The inner member
/// must be a kernel (elementwise or reducing, or a fused chain of them): a whole-group member
/// such as `ClipByGlobalNorm` is refused, since a mask would change what "the group" is, and so
/// are per-tensor rules (Muon, Adafactor) and unfused chains; give those tensors their own
/// `ParameterGroup` instead.
///
/// State: the mask itself is a member (kind `masked`, its selector in the configuration) with
/// one scalar per selected tensor, which is how the kernel tells selected tensors apart; then
/// the inner members.
public struct Masked<Inner: GradientTransform>: GradientTransform {
    /// Which tensors the inner member acts on.
    public let selector: ParameterSelector
    /// The member applied to the selected tensors.
    public let inner: Inner
    @usableFromInline var fusedRunner: (@Sendable (Masked<Inner>) -> KernelRunner)?

    /// `inner` on the tensors `selector` selects, the identity elsewhere.
    /// - Throws: `incompatibleHyperparameters` when `inner` is a whole-group member (it has no kernel).
    public init(_ selector: ParameterSelector, _ inner: Inner) throws {
        guard inner.makeKernelRunner() != nil else {
            throw OptimizerError.incompatibleHyperparameters(
                key: "masked", reason: "\(Inner.self) does not run as one kernel (a whole-group member such as ClipByGlobalNorm, a "
                    + "per-tensor rule, or an unfused chain) and cannot be masked; mask its fusable members one by one, or give the "
                    + "tensors their own ParameterGroup")
        }
        self.selector = selector
        self.inner = inner
        fusedRunner = nil
    }

    /// `inner` on the tensors `selector` selects, fused into the surrounding kernel.
    @inlinable public init(_ selector: ParameterSelector, _ inner: Inner) throws where Inner: FusableTransform {
        self.selector = selector
        self.inner = inner
        fusedRunner = { $0.fusedKernelRunner() }
    }

    public var kind: String { "masked" }
    public var configuration: [String: String] { ["mask": selector.description] }
    public var members: [TransformMember] { [TransformMember(leaf: self)] + inner.members.map { $0.restricted(to: selector) } }
    @inlinable public var memberCount: Int { 1 + inner.memberCount }
    public var usesAnchors: Bool { inner.usesAnchors }
    public var usesProvidedGradient: Bool { inner.usesProvidedGradient }

    /// One scalar (`selected` = 1) for a selected tensor, nothing otherwise.
    public func stateLayout(for parameter: ParameterInfo) -> StateLayout {
        selector.matches(parameter) ? StateLayout(scalars: ["selected"]) : .empty
    }

    public func initializeState(_ state: StateView, for parameter: ParameterInfo) {
        if selector.matches(parameter) { state[scalar: 0] = 1 }
    }

    /// Runs the inner member's kernel on the selected tensors' running updates.
    public func update(_ group: GroupStep, state: GroupState) {
        guard let runner = inner.makeKernelRunner() else { return }
        let selected = group.slots.indices.filter { state.view($0).scalarCount > 0 }
        KernelEngine.runInPlace(runner, group: group, state: state.advanced(by: 1), selected: selected)
    }

    public func makeKernelRunner() -> KernelRunner? { fusedRunner?(self) }
}

extension Masked: FusableTransform where Inner: FusableTransform {
    @inlinable public var reductionPasses: Int { inner.reductionPasses }
    public func reductionApplies(_ pass: Int, to parameter: ParameterInfo) -> Bool {
        selector.matches(parameter) && inner.reductionApplies(pass, to: parameter)
    }
    @inlinable public func scratchSize(segments: Int) -> Int { inner.scratchSize(segments: segments) }
    @inlinable public func prepareKernel(_ step: StepInfo) -> Inner.KernelPrepared { inner.prepareKernel(step) }

    @inlinable public func bindKernel(_ prepared: Inner.KernelPrepared, _ tensor: KernelTensor, _ state: GroupState, pass: Int,
                                      commit: Bool) -> GatedLanes<Inner.KernelLanes> {
        guard state.view(tensor.index).scalarCount > 0 else { return GatedLanes(nil) }
        return GatedLanes(inner.bindKernel(prepared, tensor, state.advanced(by: 1), pass: pass, commit: commit))
    }

    @inlinable public func finishReduction(_ pass: Int, _ prepared: Inner.KernelPrepared, _ tensor: KernelTensor, _ state: GroupState) {
        if state.view(tensor.index).scalarCount > 0 { inner.finishReduction(pass, prepared, tensor, state.advanced(by: 1)) }
    }
}
