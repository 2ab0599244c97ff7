import GraftTensor

/// RMSprop's scaling (Tieleman & Hinton, 2012) exactly as `torch.optim.RMSprop`, with the
/// centered variant (Graves, 2013) and momentum:
/// `s ← α s + (1 − α) g²`; centered: `ḡ ← ḡ + (1 − α)(g − ḡ)`, `d = sqrt(max(s − ḡ², 0)) + ε`,
/// else `d = sqrt(s) + ε`; with momentum μ > 0: `b ← μ b + g / d`, `u ← b`, else `u ← g / d`.
/// Follow it with `ScaleByLearningRate` for `θ ← θ − α_lr u`.
///
/// State per parameter: `square_avg`, plus `grad_avg` (centered) and `momentum_buffer`
/// (μ > 0), 4 bytes per element each; all start at zero as in PyTorch. (The `max(·, 0)`
/// only differs from PyTorch where rounding makes `s − ḡ²` negative and PyTorch returns NaN.)
public struct ScaleByRMS: ElementwiseTransform {
    /// A copy of one parameter's state (for inspection).
    public struct TensorState: Sendable, Equatable {
        /// The running average of g², s.
        public var squareAverage: Tensor
        /// The running average of g, ḡ (centered only).
        public var gradientAverage: Tensor?
        /// The momentum buffer b (μ > 0 only).
        public var momentumBuffer: Tensor?
    }

    /// α, the smoothing constant of the averages (PyTorch's `alpha`).
    public let alpha: Float
    /// ε, added to the root.
    public let epsilon: Float
    /// μ, the momentum factor (0: none).
    public let momentum: Float
    /// Whether the variance estimate `s − ḡ²` replaces `s`.
    public let centered: Bool

    /// - Throws: unless α ∈ [0, 1), ε > 0 and μ ≥ 0.
    public init(alpha: Float = 0.99, epsilon: Float = 1e-8, momentum: Float = 0, centered: Bool = false) throws {
        try Check.beta("alpha", alpha)
        try Check.positive("eps", epsilon)
        try Check.nonNegative("momentum", momentum)
        self.alpha = alpha
        self.epsilon = epsilon
        self.momentum = momentum
        self.centered = centered
    }

    public var kind: String { "scale_by_rms" }
    public var configuration: [String: String] { ["centered": "\(centered)", "momentum": "\(momentum > 0)"] }

    /// The state tensor names in order.
    var stateNames: [String] {
        ["square_avg"] + (centered ? ["grad_avg"] : []) + (momentum > 0 ? ["momentum_buffer"] : [])
    }

    public func stateLayout(for parameter: ParameterInfo) -> StateLayout { .perElement(stateNames, of: parameter) }

    public func inspectState(_ state: StateView, for parameter: ParameterInfo) -> (any Sendable)? {
        let c = centered ? 1 : 0
        return TensorState(squareAverage: state.copyTensor(0, shape: parameter.shape),
                           gradientAverage: centered ? state.copyTensor(1, shape: parameter.shape) : nil,
                           momentumBuffer: momentum > 0 ? state.copyTensor(1 + c, shape: parameter.shape) : nil)
    }

    @inlinable public func lanes(_ prepared: Void, tensor: KernelTensor, state: StateView, commit: Bool) -> Lanes {
        let c = centered ? 1 : 0
        return Lanes(square: state.tensor(0), average: centered ? state.tensor(1) : nil,
                     buffer: momentum > 0 ? state.tensor(1 + c) : nil, alpha: alpha, epsilon: epsilon, momentum: momentum,
                     commit: commit)
    }

    /// The averages, root and optional momentum, eight lanes at a time.
    public struct Lanes: ElementLanes {
        @usableFromInline let square: UnsafeMutablePointer<Float>
        @usableFromInline let average: UnsafeMutablePointer<Float>?
        @usableFromInline let buffer: UnsafeMutablePointer<Float>?
        @usableFromInline let alpha: Float, epsilon: Float, momentum: Float
        @usableFromInline let commit: Bool

        @inlinable init(square: UnsafeMutablePointer<Float>, average: UnsafeMutablePointer<Float>?, buffer: UnsafeMutablePointer<Float>?,
                        alpha: Float, epsilon: Float, momentum: Float, commit: Bool) {
            self.square = square
            self.average = average
            self.buffer = buffer
            self.alpha = alpha
            self.epsilon = epsilon
            self.momentum = momentum
            self.commit = commit
        }

        @inlinable @inline(__always)
        public func apply(_ u: inout SIMD8<Float>, theta: SIMD8<Float>, at i: Int) {
            typealias V = SIMD8<Float>
            let g = u
            let s = V(repeating: alpha) * Lane.load(square, i) + V(repeating: 1 - alpha) * g * g
            if commit { Lane.store(s, square, i) }
            var variance = s
            if let average {
                let a0 = Lane.load(average, i)
                let a = a0 + V(repeating: 1 - alpha) * (g - a0)
                if commit { Lane.store(a, average, i) }
                variance = pointwiseMax(s - a * a, V())
            }
            let d = SIMDMath.squareRoot(variance) + V(repeating: epsilon)
            if let buffer {
                let b = V(repeating: momentum) * Lane.load(buffer, i) + g / d
                if commit { Lane.store(b, buffer, i) }
                u = b
            } else {
                u = g / d
            }
        }

        @inlinable @inline(__always)
        public func apply(_ u: inout Float, theta: Float, at i: Int) {
            let g = u
            let s = alpha * square[i] + (1 - alpha) * g * g
            if commit { square[i] = s }
            var variance = s
            if let average {
                let a = average[i] + (1 - alpha) * (g - average[i])
                if commit { average[i] = a }
                variance = Swift.max(s - a * a, 0)
            }
            let d = variance.squareRoot() + epsilon
            if let buffer {
                let b = momentum * buffer[i] + g / d
                if commit { buffer[i] = b }
                u = b
            } else {
                u = g / d
            }
        }
    }
}
