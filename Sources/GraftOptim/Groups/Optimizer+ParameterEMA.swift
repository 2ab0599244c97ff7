import GraftTensor

extension Optimizer {
    /// The averaged parameters of every group whose chain has a `ParameterEMA`, by path: the
    /// debiased (or plain) average of each parameter the average covers, and the parameter's
    /// current value where the average has not started yet (before its first step, or a tensor a
    /// `Masked` EMA does not select). With several `ParameterEMA` members in one chain, the
    /// outermost one (first in chain order) counts.
    /// - Throws: `OptimizerError.noParameterAverage` when no group's chain has a `ParameterEMA`.
    public func averagedParameters() throws -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        var found = false
        for rt in runtimes {
            guard let m = rt.members.firstIndex(where: { $0.kind == "parameter_ema" }) else { continue }
            found = true
            for (k, info) in rt.infos.enumerated() {
                let state = rt.members[m].inspect(rt.storages[m].view(k), info) as? ParameterAverage
                result[info.path] = state?.average ?? rt.parameters[k].value
            }
        }
        guard found else { throw OptimizerError.noParameterAverage }
        return result
    }

    /// Copies the averaged parameters into the model's parameters (for evaluation), keeping the
    /// trained values aside; `restoreParameters()` puts them back. Until then `step` throws
    /// `averagedParametersLoaded`, so the average is never trained by mistake.
    /// - Throws: `noParameterAverage`, or `averagedParametersLoaded` when already loaded.
    public func loadAveragedParameters() throws {
        guard parameterBackup == nil else { throw OptimizerError.averagedParametersLoaded }
        let averages = try averagedParameters()
        var backup: [Int: Tensor] = [:]
        for (i, p) in parameters.enumerated() {
            guard let average = averages[p.path] else { continue }
            let current = p.parameter.value
            backup[i] = (try? Tensor(shape: current.shape, scalars: current.scalars)) ?? current
            p.parameter.value.withUnsafeMutableBufferPointer { v in
                average.withUnsafeBufferPointer { a in if let base = a.baseAddress { v.baseAddress?.update(from: base, count: a.count) } }
            }
        }
        parameterBackup = backup
    }

    /// Puts back the trained values `loadAveragedParameters()` set aside.
    /// - Throws: `nothingToRestore` without a `loadAveragedParameters()` before it.
    public func restoreParameters() throws {
        guard let backup = parameterBackup else { throw OptimizerError.nothingToRestore }
        for (i, saved) in backup {
            parameters[i].parameter.value.withUnsafeMutableBufferPointer { v in
                saved.withUnsafeBufferPointer { s in if let base = s.baseAddress { v.baseAddress?.update(from: base, count: s.count) } }
            }
        }
        parameterBackup = nil
    }

    /// Whether `loadAveragedParameters()` swapped the averages in (until `restoreParameters()`).
    public var averagedParametersAreLoaded: Bool { parameterBackup != nil }
}
