/// Two transforms applied one after the other: `first` over the whole group, then `second`.
///
/// Chains nest, so a chain of n members is a statically typed tree and the compiler
/// specialises the whole update; build them with `@TransformBuilder`:
/// ```swift
/// let adam = Chain {
///     ScaleByAdam()
///     try ScaleByLearningRate(1e-3)
/// }
/// ```
public struct Chain<First: GradientTransform, Second: GradientTransform>: GradientTransform {
    /// The state of both members.
    public struct State: Codable, Sendable {
        /// The first member's state.
        public var first: First.State
        /// The second member's state.
        public var second: Second.State
        enum CodingKeys: String, CodingKey { case first, second }
    }

    public func decodeState(from decoder: any Decoder) throws -> State {
        let c = try decoder.container(keyedBy: State.CodingKeys.self)
        return State(first: try first.decodeState(from: try c.superDecoder(forKey: .first)),
                     second: try second.decodeState(from: try c.superDecoder(forKey: .second)))
    }

    /// The member applied first.
    public let first: First
    /// The member applied second, to the first's output.
    public let second: Second

    /// `first`, then `second`.
    public init(_ first: First, _ second: Second) {
        self.first = first
        self.second = second
    }

    public func makeState(for parameters: [ParameterInfo]) -> State {
        State(first: first.makeState(for: parameters), second: second.makeState(for: parameters))
    }

    public func update(_ group: GroupStep, state: inout State) {
        if isElementwise {
            // Both members block by block while the block is in cache.
            withUnsafeMutablePointer(to: &state) { pointer in
                group.forEachTensor { k in
                    let slot = group.slots[k]
                    slot.forBlocks { range in
                        var lo = range.lowerBound
                        while lo < range.upperBound {
                            let hi = Swift.min(range.upperBound, lo + TensorSlot.blockSize)
                            updateElements(lo..<hi, slot.update.baseAddress! + lo, of: slot, state: &pointer.pointee, step: group.info)
                            lo = hi
                        }
                    }
                }
            }
            return
        }
        first.update(group, state: &state.first)
        second.update(group, state: &state.second)
    }

    public var isElementwise: Bool { first.isElementwise && second.isElementwise }

    public func updateElements(_ range: Range<Int>, _ update: UnsafeMutablePointer<Float>, of slot: TensorSlot, state: inout State, step: StepInfo) {
        first.updateElements(range, update, of: slot, state: &state.first, step: step)
        second.updateElements(range, update, of: slot, state: &state.second, step: step)
    }

    public func inspect(_ state: State, member: String?, index: Int) -> (any Sendable)? {
        guard let member else { return nil }
        return first.inspect(state.first, member: member, index: index)
            ?? second.inspect(state.second, member: member, index: index)
    }

    public func telemetry(_ state: State, index: Int) -> [String: Double] {
        first.telemetry(state.first, index: index).merging(second.telemetry(state.second, index: index)) { _, b in b }
    }

    public var memberNames: [String] { first.memberNames + second.memberNames }
    public var usesAnchors: Bool { first.usesAnchors || second.usesAnchors }
    public var usesProvidedGradient: Bool { first.usesProvidedGradient || second.usesProvidedGradient }
}

extension Chain where First == Identity, Second == Identity {
    /// Builds a chain from a `@TransformBuilder` block.
    public static func build<T: GradientTransform>(@TransformBuilder _ body: () throws -> T) rethrows -> T {
        try body()
    }
}

/// Builds chains of transforms; supports `if`, `if`/`else` and nesting.
@resultBuilder
public enum TransformBuilder {
    public static func buildExpression<T: GradientTransform>(_ t: T) -> T { t }
    public static func buildPartialBlock<T: GradientTransform>(first: T) -> T { first }
    public static func buildPartialBlock<A: GradientTransform, B: GradientTransform>(accumulated: A, next: B) -> Chain<A, B> {
        Chain(accumulated, next)
    }
    public static func buildBlock() -> Identity { Identity() }
    public static func buildOptional<T: GradientTransform>(_ t: T?) -> OptionalTransform<T> { OptionalTransform(t) }
    public static func buildEither<A: GradientTransform, B: GradientTransform>(first: A) -> Either<A, B> { .first(first) }
    public static func buildEither<A: GradientTransform, B: GradientTransform>(second: B) -> Either<A, B> { .second(second) }
}

/// Builds a transform from a `@TransformBuilder` block: `let t = try chain { … }`.
public func chain<T: GradientTransform>(@TransformBuilder _ body: () throws -> T) rethrows -> T {
    try body()
}

/// The transform that leaves the update unchanged.
public struct Identity: GradientTransform {
    /// The identity transform.
    public init() {}
    public func makeState(for parameters: [ParameterInfo]) -> EmptyState { EmptyState() }
    public func update(_ group: GroupStep, state: inout EmptyState) {}
    public var isElementwise: Bool { true }
    public func updateElements(_ range: Range<Int>, _ update: UnsafeMutablePointer<Float>, of slot: TensorSlot, state: inout EmptyState, step: StepInfo) {}
}

/// A transform present or absent (the builder's `if` without `else`).
public struct OptionalTransform<Wrapped: GradientTransform>: GradientTransform {
    /// The transform, or `nil` when the builder's `if` was false.
    public let wrapped: Wrapped?
    /// Wraps a transform that may be absent.
    public init(_ wrapped: Wrapped?) { self.wrapped = wrapped }

    public func makeState(for parameters: [ParameterInfo]) -> Wrapped.State? { wrapped?.makeState(for: parameters) }

    public func update(_ group: GroupStep, state: inout Wrapped.State?) {
        // The state is nil exactly when `wrapped` is (see makeState). Never test or copy `state`
        // itself: other threads may be updating other tensors' parts of it in place.
        guard let wrapped else { return }
        wrapped.update(group, state: &state!)  // in place: the payload stays uniquely referenced
    }

    public func inspect(_ state: Wrapped.State?, member: String?, index: Int) -> (any Sendable)? {
        guard let wrapped, let state else { return nil }
        return wrapped.inspect(state, member: member, index: index)
    }

    public func telemetry(_ state: Wrapped.State?, index: Int) -> [String: Double] {
        guard let wrapped, let state else { return [:] }
        return wrapped.telemetry(state, index: index)
    }

    public var memberNames: [String] { wrapped?.memberNames ?? [] }
    public func decodeState(from decoder: any Decoder) throws -> Wrapped.State? {
        guard let wrapped else { return nil }
        if try decoder.singleValueContainer().decodeNil() { return nil }
        return try wrapped.decodeState(from: decoder)
    }

    public var isElementwise: Bool { wrapped?.isElementwise ?? true }

    public func updateElements(_ range: Range<Int>, _ update: UnsafeMutablePointer<Float>, of slot: TensorSlot, state: inout Wrapped.State?, step: StepInfo) {
        guard let wrapped else { return }  // see `update`: `state` is shared across threads here
        wrapped.updateElements(range, update, of: slot, state: &state!, step: step)
    }

    public var usesAnchors: Bool { wrapped?.usesAnchors ?? false }
    public var usesProvidedGradient: Bool { wrapped?.usesProvidedGradient ?? false }
}

/// One of two transforms (the builder's `if`/`else`).
public enum Either<A: GradientTransform, B: GradientTransform>: GradientTransform {
    case first(A)
    case second(B)

    /// The state of the branch in use (the other is `nil`).
    public struct State: Codable, Sendable {
        /// The first branch's state (when it is the branch in use).
        public var first: A.State?
        /// The second branch's state (when it is the branch in use).
        public var second: B.State?
        enum CodingKeys: String, CodingKey { case first, second }
    }

    public func decodeState(from decoder: any Decoder) throws -> State {
        let c = try decoder.container(keyedBy: State.CodingKeys.self)
        switch self {
        case let .first(a): return State(first: try a.decodeState(from: try c.superDecoder(forKey: .first)), second: nil)
        case let .second(b): return State(first: nil, second: try b.decodeState(from: try c.superDecoder(forKey: .second)))
        }
    }

    public func makeState(for parameters: [ParameterInfo]) -> State {
        switch self {
        case let .first(a): return State(first: a.makeState(for: parameters), second: nil)
        case let .second(b): return State(first: nil, second: b.makeState(for: parameters))
        }
    }

    public func update(_ group: GroupStep, state: inout State) {
        switch self {
        case let .first(a): a.update(group, state: &state.first!)
        case let .second(b): b.update(group, state: &state.second!)
        }
    }

    public func inspect(_ state: State, member: String?, index: Int) -> (any Sendable)? {
        switch self {
        case let .first(a): return state.first.flatMap { a.inspect($0, member: member, index: index) }
        case let .second(b): return state.second.flatMap { b.inspect($0, member: member, index: index) }
        }
    }

    public func telemetry(_ state: State, index: Int) -> [String: Double] {
        switch self {
        case let .first(a): return state.first.map { a.telemetry($0, index: index) } ?? [:]
        case let .second(b): return state.second.map { b.telemetry($0, index: index) } ?? [:]
        }
    }

    public var memberNames: [String] {
        switch self {
        case let .first(a): return a.memberNames
        case let .second(b): return b.memberNames
        }
    }

    public var isElementwise: Bool {
        switch self {
        case let .first(a): return a.isElementwise
        case let .second(b): return b.isElementwise
        }
    }

    public func updateElements(_ range: Range<Int>, _ update: UnsafeMutablePointer<Float>, of slot: TensorSlot, state: inout State, step: StepInfo) {
        switch self {
        case let .first(a): a.updateElements(range, update, of: slot, state: &state.first!, step: step)
        case let .second(b): b.updateElements(range, update, of: slot, state: &state.second!, step: step)
        }
    }

    public var usesAnchors: Bool {
        switch self {
        case let .first(a): return a.usesAnchors
        case let .second(b): return b.usesAnchors
        }
    }

    public var usesProvidedGradient: Bool {
        switch self {
        case let .first(a): return a.usesProvidedGradient
        case let .second(b): return b.usesProvidedGradient
        }
    }
}
