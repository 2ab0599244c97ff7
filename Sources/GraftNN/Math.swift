#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Foundation-free scalar math for the layer kernels (the C library's float functions).

@inline(__always) func tanhFloat(_ x: Float) -> Float { tanhf(x) }
@inline(__always) func expFloat(_ x: Float) -> Float { expf(x) }
@inline(__always) func logDouble(_ x: Double) -> Double { log(x) }
