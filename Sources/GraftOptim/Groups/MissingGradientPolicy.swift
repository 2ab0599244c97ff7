/// What an optimizer step does with a parameter that has no gradient: a `Parameter` whose
/// `hasGradient` is false (nothing wrote its gradient since it was made or since
/// `clearGradient()`), or, in `step(objectives:)`, a path missing from every objective.
///
/// PyTorch skips a parameter whose `grad is None`: no weight decay, no momentum, no state
/// change. optax has no such notion (a missing gradient is a zero one). Graft's default is
/// `.zero`, which is what every Graft release did before this option existed; `.skip` is
/// PyTorch's behaviour.
///
/// One difference from PyTorch remains with `.skip`: Graft counts steps per group (the `t` of
/// Adam's bias correction, of schedules), PyTorch per parameter. A parameter that misses some
/// steps while others in its group are stepped resumes with the group's `t`; in PyTorch its
/// own count would lag. A group none of whose parameters has a gradient does not step, and
/// its `t` does not advance.
public enum MissingGradientPolicy: Sendable, Equatable {
    /// Step the parameter with g = 0 (weight decay, momentum and anchor pulls still move it).
    case zero
    /// Leave the parameter and all its optimizer state exactly as they are.
    case skip
}
