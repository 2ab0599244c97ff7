import GraftTensor

/// Clips the group's update to a maximum global L2 norm, as `torch.nn.utils.clip_grad_norm_`:
/// `n = sqrt(Σ_tensors ‖u‖²)`, `u ← u · min(1, maxNorm / (n + 1e-6))`.
/// "Global" means over every tensor of the parameter group: a whole-group transform.
public struct ClipByGlobalNorm: GradientTransform {
    /// The maximum norm.
    public let maxNorm: Float

    /// - Throws: unless `maxNorm` > 0 and finite.
    public init(maxNorm: Float) throws {
        try Check.positive("max_norm", maxNorm)
        self.maxNorm = maxNorm
    }

    public var kind: String { "clip_by_global_norm" }

    public func update(_ group: GroupStep, state: GroupState) {
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
