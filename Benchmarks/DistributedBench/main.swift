import Foundation
import GraftDistributed
import GraftOptim
import GraftTensor
import GraftTrain

// distributed-bench: all-reduce bandwidth and the cost of a data-parallel optimizer step,
// replicated (one bucketed all-reduce + a full Adam step) and ZeRO-1 sharded (all-reduce +
// step of the owned tensors + all-gather), against the same Adam step in one process.
// Run under `mpirun -np N` (or alone: one rank, collectives are free).

let usage = """
    usage: [mpirun -np N] distributed-bench [--parameters N] [--tensors K] [--repeats R]

    Measures MPI_Allreduce bandwidth over 2^10 … 2^24 floats, then one Adam step over K tensors
    totalling N floats (default 4,194,304 in 8 tensors): alone, data-parallel replicated and
    ZeRO-1 sharded. Rank 0 prints Markdown tables; median of R repeats (default 20).
    """

var parameterCount = 1 << 22, tensorCount = 8, repeats = 20
var args = Array(CommandLine.arguments.dropFirst())
while !args.isEmpty {
    let flag = args.removeFirst()
    func int() -> Int {
        guard !args.isEmpty, let v = Int(args.removeFirst()), v > 0 else {
            FileHandle.standardError.write(Data("distributed-bench: \(flag) needs a positive integer\n".utf8)); exit(1)
        }
        return v
    }
    switch flag {
    case "--help", "-h": print(usage); exit(0)
    case "--parameters": parameterCount = int()
    case "--tensors": tensorCount = int()
    case "--repeats": repeats = int()
    default: FileHandle.standardError.write(Data("distributed-bench: unknown option \(flag)\n".utf8)); exit(1)
    }
}

do {
    let comm = try World.communicator()
    func log(_ s: String) { if comm.isRoot { print(s) } }
    func median(_ body: () throws -> Void) throws -> Double {
        var times: [Double] = []
        for _ in 0..<3 { try body() }  // warm-up
        for _ in 0..<repeats {
            try comm.barrier()
            let t = DispatchTime.now().uptimeNanoseconds
            try body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9)
        }
        // Every rank reports its slowest view: take the maximum over ranks of the median.
        var m = [times.sorted()[times.count / 2]]
        try m.withUnsafeMutableBufferPointer { try comm.allReduceMax($0) }
        return m[0]
    }

    log("distributed-bench · \(comm.size) rank(s) (\(comm.backend)) · \(ProcessInfo.processInfo.activeProcessorCount) cores · median of \(repeats)\n")
    log("| floats | bytes | all-reduce time | algorithm bandwidth | bus bandwidth |")
    log("|---:|---:|---:|---:|---:|")
    for exponent in stride(from: 10, through: 24, by: 2) {
        var buffer = [Float](repeating: 1, count: 1 << exponent)
        let t = try median { try comm.allReduceSum(&buffer) }
        let bytes = Double(buffer.count * 4)
        let bus = comm.size > 1 ? bytes * 2 * Double(comm.size - 1) / Double(comm.size) / t : 0
        log(String(format: "| 2^%d | %@ | %.1f µs | %.2f GB/s | %.2f GB/s |", exponent,
                   ByteCountFormatter.string(fromByteCount: Int64(bytes), countStyle: .binary), t * 1e6, bytes / t / 1e9, bus / 1e9))
    }

    // Parameters: K equal tensors of N/K floats as [rows, 256].
    func makeParameters() throws -> [NamedParameter] {
        let per = max(256, parameterCount / tensorCount)
        var g = SeededGenerator(seed: 7)
        return try (0..<tensorCount).map { i in
            let p = Parameter(try Tensor(shape: [per / 256, 256], scalars: (0..<(per / 256 * 256)).map { _ in g.nextFloat() - 0.5 }))
            p.gradient = try Tensor(shape: p.shape, scalars: (0..<p.value.count).map { _ in (g.nextFloat() - 0.5) * 1e-3 })
            return NamedParameter(path: "layer\(i).weight", parameter: p)
        }
    }
    let group = { try ParameterGroup("all", selecting: .all, transform: try Recipes.adam(learningRate: 1e-4)) }

    let aloneParameters = try makeParameters()
    let alone = try Optimizer(parameters: aloneParameters, groups: [try group()])
    let tAlone = try median { try alone.step() }

    let replicatedParameters = try makeParameters()
    let replicated = try Optimizer(parameters: replicatedParameters, groups: [try group()])
    let bucket = GradientBucket(parameters: replicatedParameters)
    let share = 1 / Float(comm.size)
    var tReduce = 0.0
    let tReplicated = try median {
        let t = DispatchTime.now().uptimeNanoseconds
        try bucket.allReduce(scale: share, over: comm)
        tReduce += Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9
        try replicated.step()
    }

    let shardedParameters = try makeParameters()
    let sharded = try ShardedOptimizer(parameters: shardedParameters, groups: [try group()], communicator: comm)
    let shardedBucket = GradientBucket(parameters: shardedParameters)
    let tSharded = try median {
        try shardedBucket.allReduce(scale: share, over: comm)
        try sharded.step()
    }
    var stateFloats = [Double(try sharded.localStateFloats())]
    try comm.allReduceMax(stateFloats.withUnsafeMutableBufferPointer { $0 })
    let n = aloneParameters.reduce(0) { $0 + $1.parameter.value.count }

    log("\nAdam step over \(tensorCount) tensors, \(n) floats (\(ByteCountFormatter.string(fromByteCount: Int64(n * 4), countStyle: .binary)) of gradients):\n")
    log("| mode | time per step | vs one process | optimizer state per rank (max) |")
    log("|---|---:|---:|---:|")
    log(String(format: "| one process, no communication | %.2f ms | 1.00× | %d floats |", tAlone * 1e3, 2 * n))
    log(String(format: "| replicated: all-reduce + full step | %.2f ms | %.2f× | %d floats |", tReplicated * 1e3, tReplicated / tAlone, 2 * n))
    log(String(format: "| ZeRO-1: all-reduce + own step + all-gather | %.2f ms | %.2f× | %.0f floats |", tSharded * 1e3, tSharded / tAlone, stateFloats[0]))
} catch {
    FileHandle.standardError.write(Data("distributed-bench: \(error)\n".utf8))
    exit(1)
}
