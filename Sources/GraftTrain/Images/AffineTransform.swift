#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A 2-D affine map about an image's centre: `x' = a·x + b·y + tx`, `y' = c·x + d·y + ty`.
///
/// Coordinates are in pixels relative to the centre `((side − 1) / 2, (side − 1) / 2)`, with
/// x pointing right (columns) and y pointing down (rows), so a rotation about the centre
/// or a scale about the centre needs no translation. The map sends a source point to where
/// it appears in the output; `ImageOps.warp` samples the source at the inverse map.
///
/// Compose in reading order with `then(_:)` or the builder methods:
/// ```swift
/// let t = AffineTransform.rotation(degrees: 30).then(.scale(0.8)).then(.translation(x: 1, y: 0))
/// ```
public struct AffineTransform: Sendable, Equatable {
    /// Linear part, row 1.
    public var a: Float, b: Float
    /// Linear part, row 2.
    public var c: Float, d: Float
    /// Translation in pixels.
    public var tx: Float, ty: Float

    /// A map from its coefficients.
    public init(a: Float, b: Float, c: Float, d: Float, tx: Float = 0, ty: Float = 0) {
        (self.a, self.b, self.c, self.d, self.tx, self.ty) = (a, b, c, d, tx, ty)
    }

    /// The identity map.
    public static let identity = AffineTransform(a: 1, b: 0, c: 0, d: 1)

    /// A rotation by `degrees` about the centre; positive turns the image counter-clockwise
    /// as displayed (y down).
    public static func rotation(degrees: Float) -> AffineTransform {
        let r = Double(degrees) * Double.pi / 180
        let (s, co) = (Float(sin(r)), Float(cos(r)))
        return AffineTransform(a: co, b: s, c: -s, d: co)
    }

    /// A uniform scale by `factor` about the centre (`< 1` shrinks the content).
    public static func scale(_ factor: Float) -> AffineTransform {
        AffineTransform(a: factor, b: 0, c: 0, d: factor)
    }

    /// A horizontal shear: `x' = x + k·y` (rows below the centre move right for `k > 0`).
    public static func shear(_ k: Float) -> AffineTransform {
        AffineTransform(a: 1, b: k, c: 0, d: 1)
    }

    /// A shift by `x` pixels right and `y` pixels down.
    public static func translation(x: Float, y: Float) -> AffineTransform {
        AffineTransform(a: 1, b: 0, c: 0, d: 1, tx: x, ty: y)
    }

    /// The map that applies `self` first, then `next`.
    public func then(_ next: AffineTransform) -> AffineTransform {
        AffineTransform(a: next.a * a + next.b * c, b: next.a * b + next.b * d,
                        c: next.c * a + next.d * c, d: next.c * b + next.d * d,
                        tx: next.a * tx + next.b * ty + next.tx, ty: next.c * tx + next.d * ty + next.ty)
    }

    /// The determinant of the linear part.
    public var determinant: Float { a * d - b * c }

    /// The inverse map, or `nil` when the linear part is singular (|det| < 1e-12) or not
    /// finite.
    public var inverse: AffineTransform? {
        let det = determinant
        guard det.isFinite, abs(det) >= 1e-12 else { return nil }
        let ia = d / det, ib = -b / det, ic = -c / det, id = a / det
        return AffineTransform(a: ia, b: ib, c: ic, d: id, tx: -(ia * tx + ib * ty), ty: -(ic * tx + id * ty))
    }

    /// Where `(x, y)` (centre-relative) goes.
    @inlinable public func apply(x: Float, y: Float) -> (x: Float, y: Float) {
        (a * x + b * y + tx, c * x + d * y + ty)
    }
}
