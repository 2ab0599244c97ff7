import GraftTensor

/// Clips the group's update to a maximum global L2 norm, as `torch.nn.utils.clip_grad_norm_`:
/// `n = sqrt(Σ_tensors ‖u‖²)`, `u ← u · min(1, maxNorm / (n + 1e-6))`.
/// "Global" means over every tensor of the parameter group: a whole-group transform. The
/// threshold may follow a `Schedule` (evaluated once per step).
public struct ClipByGlobalNorm: GradientTransform {
    /// The maximum norm (its value at t = 1 when scheduled).
    public let maxNorm: Float
    /// The maximum norm as a function of the step.
    public let maxNormSchedule: Schedule

    /// - Throws: unless `maxNorm` > 0 and finite.
    public init(maxNorm: Float) throws {
        try self.init(maxNorm: Schedule.constant(maxNorm))
    }

    /// Clipping with a scheduled threshold (a float literal is a constant schedule).
    /// - Throws: unless the threshold is > 0 at the sample steps.
    @_disfavoredOverload
    public init(maxNorm: Schedule) throws {
        try maxNorm.validate("max_norm", Check.positive)
        maxNormSchedule = maxNorm
        self.maxNorm = maxNorm.value(at: 1)
    }

    public var kind: String { "clip_by_global_norm" }
    public var configuration: [String: String] { [:].recordingSchedules([("max_norm", maxNormSchedule)]) }

    public func update(_ group: GroupStep, state: GroupState) {
        let maxNorm = maxNormSchedule.value(at: group.info.step)
        var total = 0.0
        for slot in group.slots { total += Vector.sumOfSquaresDouble(UnsafeBufferPointer(slot.update)) }
        let coefficient = Float(Double(maxNorm) / (total.squareRoot() + 1e-6))
        guard coefficient < 1 else { return }
        group.forEachTensor { i in
            let slot = group.slots[i]
            guard let u = slot.update.baseAddress else { return }
            slot.forChunks { r in for j in r { u[j] *= coefficient } }
        }
    }
}
