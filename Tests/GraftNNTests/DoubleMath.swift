#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `eˣ` in `Double` for the reference computations.
func expD(_ x: Double) -> Double { exp(x) }

extension Double {
    /// The natural logarithm.
    var logD: Double { log(self) }
}
