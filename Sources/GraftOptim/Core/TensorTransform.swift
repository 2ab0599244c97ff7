/// A transform that updates each tensor on its own with a per-tensor algorithm that is not
/// elementwise (e.g. a sequential random stream): it implements one tensor's update of
/// `slot.update`; the group-level `update` spreads tensors over the cores. Prefer
/// `ElementwiseTransform` or `FusableTransform` when the rule allows: those fuse.
public protocol TensorTransform: GradientTransform {
    /// Rewrites `slot.update` in place; `state` is this member's state of the parameter.
    func update(_ slot: TensorSlot, state: StateView, step: StepInfo)
}

extension TensorTransform {
    public func update(_ group: GroupStep, state: GroupState) {
        group.forEachTensor { k in update(group.slots[k], state: state.view(k), step: group.info) }
    }
}
