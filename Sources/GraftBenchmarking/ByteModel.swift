import Foundation

/// A *byte model*: the bytes per parameter a fused implementation of one step must move (reads
/// plus writes of float32 buffers, no write-allocate, as the bandwidth probe counts), which turns
/// a step time into an achieved bandwidth: `GB/s = bytesPerParameter × parameters ÷ step`.
///
/// It describes the algorithm, not the code: an implementation that makes extra passes moves
/// more bytes than the model counts, so its "GB/s" falls below what the memory system delivered.
/// Declare your own transform's model (``streams(read:readWritten:written:)`` counts 4 bytes per
/// stream touched), or use a built-in rule's (``adam``, ``digrap(learnedOmega:placement:)``, …).
public struct ByteModel: Sendable, Equatable, Codable {
    /// Bytes per parameter per step.
    public var bytesPerParameter: Int
    /// How the bytes are made up, e.g. `θ r+w, g r, m r+w, v r+w`.
    public var description: String

    /// A model given directly.
    /// - Throws: `BenchmarkError.invalidByteModel` unless `bytesPerParameter > 0`.
    public init(bytesPerParameter: Int, description: String) throws {
        guard bytesPerParameter > 0 else {
            throw BenchmarkError.invalidByteModel("bytes per parameter must be positive, got \(bytesPerParameter)")
        }
        self.bytesPerParameter = bytesPerParameter
        self.description = description
    }

    /// An unchecked model (the built-in constants).
    init(_ bytes: Int, _ description: String) {
        self.bytesPerParameter = bytes
        self.description = description
    }

    /// One pass over float32 streams: 4 B per stream read, 4 per stream written, 8 per stream
    /// read and written. `streams(read: ["g"], readWritten: ["θ", "m", "v"])` is Adam's 28 B
    /// (`θ r+w, m r+w, v r+w, g r`).
    /// - Throws: `BenchmarkError.invalidByteModel` when no stream is given.
    public static func streams(read: [String] = [], readWritten: [String] = [], written: [String] = []) throws -> ByteModel {
        let bytes = 4 * read.count + 8 * readWritten.count + 4 * written.count
        let parts = readWritten.map { "\($0) r+w" } + read.map { "\($0) r" } + written.map { "\($0) w" }
        return try ByteModel(bytesPerParameter: bytes, description: parts.joined(separator: ", "))
    }

    /// Two models run as consecutive passes: bytes add, descriptions read `pass 1: …; pass 2: …`.
    public static func passes(_ first: ByteModel, _ second: ByteModel) -> ByteModel {
        ByteModel(first.bytesPerParameter + second.bytesPerParameter,
                  "pass 1: \(first.description) (\(first.bytesPerParameter)); pass 2: \(second.description) (\(second.bytesPerParameter))")
    }

    // MARK: Built-in rules (the models of graft-bench's workloads; Benchmarks/README.md)

    /// SGD: `θ r+w, g r` (12 B).
    public static let sgd = ByteModel(12, "θ r+w, g r")
    /// SGD with (Nesterov) momentum: `θ r+w, g r, b r+w` (20 B).
    public static let momentum = ByteModel(20, "θ r+w, g r, b r+w")
    /// Adam, AdamW, RAdam, NAdam: `θ r+w, g r, m r+w, v r+w` (28 B).
    public static let adam = ByteModel(28, "θ r+w, g r, m r+w, v r+w")
    /// RMSprop (plain), Adagrad: `θ r+w, g r, s r+w` (20 B).
    public static let rmsprop = ByteModel(20, "θ r+w, g r, s r+w")
    /// RMSprop centered with momentum: `θ r+w, g r, s r+w, ḡ r+w, b r+w` (36 B).
    public static let rmspropCenteredMomentum = ByteModel(36, "θ r+w, g r, s r+w, ḡ r+w, b r+w")
    /// Adagrad: `θ r+w, g r, S r+w` (20 B).
    public static let adagrad = ByteModel(20, "θ r+w, g r, S r+w")
    /// Lion: `θ r+w, g r, m r+w` (20 B).
    public static let lion = ByteModel(20, "θ r+w, g r, m r+w")
    /// LAMB: two passes (the trust ratio needs ‖θ‖ and ‖u‖ first), 44 B.
    public static let lamb = ByteModel(44, "pass 1: g, θ, m, v r (16); pass 2: θ r+w, g r, m r+w, v r+w (28)")
    /// L2-SP → SGD momentum: `θ r+w, g r, θ0 r, b r+w` (24 B).
    public static let l2spMomentum = ByteModel(24, "θ r+w, g r, θ0 r, b r+w")
    /// FTP after Adam: 48 B in two passes.
    public static let ftp = ByteModel(48, "pass 1: g, ĉ_{t−1}, θ, θ0 r, m r+w, v r+w, ĉ w (36); pass 2: θ w, θ0, ĉ r (12)")
    /// SPD after Adam: 48 B in two passes.
    public static let spd = ByteModel(48, "pass 1: g, θ, θ0 r, m r+w, v r+w (28); pass 2: θ r+w, θ0, m, v r (20)")
    /// Clip by global norm → SGD: 16 B in two passes.
    public static let clipSGD = ByteModel(16, "pass 1: g r (4); pass 2: θ r+w, g r (12)")

    /// DiGraP + Adam, learned or fixed ω, gradient (paper) or update placement (44–56 B).
    public static func digrap(learnedOmega: Bool, updatePlacement: Bool) -> ByteModel {
        switch (updatePlacement, learnedOmega) {
        case (false, true): return ByteModel(52, "pass 1: g, θ, θ0, p r (16); pass 2: g r, θ r+w, θ0 r, p w, m r+w, v r+w (36)")
        case (false, false): return ByteModel(44, "pass 1: g, θ, θ0 r (12); pass 2: g r, θ r+w, θ0 r, m r+w, v r+w (32)")
        case (true, true): return ByteModel(56, "pass 1: g, θ, θ0, p r, m r+w, v r+w (32); pass 2: θ r+w, θ0, m, v r, p w (24)")
        case (true, false): return ByteModel(48, "pass 1: g, θ, θ0 r, m r+w, v r+w (28); pass 2: θ r+w, θ0, m, v r (20)")
        }
    }

    /// PCGrad over K objectives + Adam: `8K + 24` B (a Gram pass over the K gradients, then
    /// the combination and Adam).
    public static func pcgrad(objectives k: Int) -> ByteModel {
        ByteModel(8 * k + 24, "pass 1: \(k) g r for the Gram matrix (\(4 * k)); pass 2: \(k) g r, θ r+w, m r+w, v r+w (\(4 * k + 24))")
    }

    /// The lower bound every step meets (`θ r+w, g r`, 12 B): for transforms without a model
    /// of their own; the state they read and write is not counted.
    public static let lowerBound = ByteModel(12, "θ r+w, g r (lower bound: state not counted)")

    /// The model of a trace recipe (the `recipe` object of TRACE_FORMAT.md, as JSON text), for
    /// the built-in methods whose model is known: sgd (with or without momentum), adam, adamw,
    /// radam, nadam, rmsprop, adagrad, lion, lamb, l2sp over SGD momentum, digrap, pcgrad
    /// (`objectives` gradients), ftp, spd. `nil` for other recipes (chains, l2sp over another
    /// base, adafactor, muon) and for text that is not a JSON object.
    public static func forRecipe(json: String, objectives: Int = 2) -> ByteModel? {
        guard let data = json.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let method = object["method"] as? String else { return nil }
        func number(_ key: String) -> Double? { (object[key] as? NSNumber)?.doubleValue }
        switch method {
        case "sgd": return (number("momentum") ?? 0) != 0 ? .momentum : .sgd
        case "adam", "adamw":
            return object["amsgrad"] as? Bool == true ? ByteModel(36, "θ r+w, g r, m r+w, v r+w, v_max r+w") : .adam
        case "radam", "nadam": return .adam
        case "rmsprop":
            let centered = object["centered"] as? Bool ?? false
            let momentum = (number("momentum") ?? 0) != 0
            switch (centered, momentum) {
            case (false, false): return .rmsprop
            case (true, true): return .rmspropCenteredMomentum
            case (true, false): return ByteModel(28, "θ r+w, g r, s r+w, ḡ r+w")
            case (false, true): return ByteModel(28, "θ r+w, g r, s r+w, b r+w")
            }
        case "adagrad": return .adagrad
        case "lion": return .lion
        case "lamb": return .lamb
        case "l2sp":
            guard let base = object["base"] as? [String: Any], base["method"] as? String == "sgd" else { return nil }
            let momentum = ((base["momentum"] as? NSNumber)?.doubleValue ?? 0) != 0
            return momentum ? .l2spMomentum : ByteModel(16, "θ r+w, g r, θ0 r")
        case "digrap":
            return .digrap(learnedOmega: object["omega"] == nil, updatePlacement: object["placement"] as? String == "update")
        case "pcgrad":
            guard let base = object["base"] as? [String: Any], ["adam", "adamw"].contains(base["method"] as? String ?? "") else { return nil }
            return .pcgrad(objectives: max(1, objectives))
        case "ftp":
            guard let base = object["base"] as? [String: Any], ["adam", "adamw"].contains(base["method"] as? String ?? "") else { return nil }
            return .ftp
        case "spd": return .spd
        default: return nil
        }
    }
}
