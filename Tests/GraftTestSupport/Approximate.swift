import GraftTensor

/// Parity tolerance used across the suite: `|a − b| ≤ absolute + relative · |b|`.
public func isClose(_ a: Float, _ b: Float, absolute: Float = 1e-5, relative: Float = 1e-4) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    return abs(a - b) <= absolute + relative * abs(b)
}
