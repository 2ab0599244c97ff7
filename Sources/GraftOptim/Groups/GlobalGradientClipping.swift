import GraftTensor

/// Which norm `Optimizer.clipGradientNorm(maxNorm:norm:)` bounds (PyTorch's `norm_type`).
public enum GradientNorm: Sendable, Equatable {
    /// `sqrt(Σ g²)` over all elements (PyTorch's default, `norm_type=2`).
    case l2
    /// `max |g|` over all elements (`norm_type=inf`).
    case infinity
}

extension Optimizer {
    /// Clipping by the norm of *all* gradients together, across parameter groups: PyTorch's
    /// `torch.nn.utils.clip_grad_norm_(parameters, max_norm)`.
    ///
    /// With `N = ‖(g_1, …, g_n)‖` (the 2-norm of every gradient element of every parameter, or the
    /// largest |g| for `.infinity`), every gradient is multiplied by
    /// `min(1, max_norm / (N + 1e-6))`, as PyTorch does. `ClipByGlobalNorm` in a chain does the
    /// same inside one group; this spans groups, so a backbone and a head with their own chains
    /// are clipped together. Call it between the backward pass and `step()`.
    ///
    /// A non-finite norm (a NaN or an infinity in some gradient) leaves every gradient untouched
    /// and is returned as it is: the next `step()` then finds the bad gradient and applies the
    /// optimizer's `NonFinitePolicy` (throw, naming the parameter, or skip the step), instead of
    /// spreading NaN over every parameter the way scaling by NaN would.
    ///
    /// Scales the gradients of every parameter this optimizer updates (all groups) so their
    /// joint norm is at most `maxNorm`; returns the norm before clipping.
    /// Parameters without a gradient (`hasGradient == false`) count as zero and stay without one.
    /// - Throws: `invalidHyperparameter` for a `maxNorm` that is not finite and positive.
    @discardableResult
    public func clipGradientNorm(maxNorm: Float, norm: GradientNorm = .l2) throws -> Float {
        try Check.positive("max_norm", maxNorm)
        let updated = runtimes.flatMap(\.parameters)
        var total = 0.0
        for p in updated {
            let g = p.gradient.unsafeStorage()
            switch norm {
            case .l2: total += Vector.sumOfSquaresDouble(g)
            case .infinity: for x in g { total = Swift.max(total, Double(abs(x))) }  // NaN-free max; NaN checked below
            }
            if !Vector.allFinite(g) { return .nan }
        }
        let n = norm == .l2 ? total.squareRoot() : total
        let result = Float(n)
        guard result.isFinite else { return result }
        // PyTorch: clip_coef = max_norm / (total_norm + 1e-6), clamped to at most 1, in float32.
        let coefficient = Swift.min(1, maxNorm / (result + 1e-6))
        guard coefficient < 1 else { return result }
        for p in updated where p.hasGradient {
            p.gradient.withUnsafeMutableBufferPointer { g in Vector.scale(g, by: coefficient) }
        }
        return result
    }
}
