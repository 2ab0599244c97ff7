import GraftTensor

/// Process-wide settings every example program applies first.
public enum ExampleEnvironment {
    /// Sets the thread counts of Graft's kernels and matrix products (when given) and flushes subnormal floats to
    /// zero in every thread that runs Graft kernels (see `FloatingPointEnvironment`).
    public static func configure(threads: Int?) {
        if let threads {
            Parallel.threads = threads
            BLAS.threads = threads
        }
        FloatingPointEnvironment.flushSubnormalsToZero()
    }
}
