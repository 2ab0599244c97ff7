import Foundation
#if canImport(Glibc)
import Glibc
#endif
import GraftSafetensors
import GraftTensor

// safetensors-bench: time and peak memory of reading a large F32 safetensors file.
//
//   safetensors-bench write FILE [--megabytes N] [--tensors K]   write N MB of F32 in K tensors
//   safetensors-bench read FILE [--repeat R] [--cold]            read every tensor, report time and peak RSS
//
// Run `read` in its own process (not after `write` in the same one) so the peak resident set
// (VmHWM in /proc/self/status) counts only the read. Release builds only.

let usage = """
    usage: safetensors-bench write FILE [--megabytes N] [--tensors K]
           safetensors-bench read FILE [--repeat R] [--cold]

    write: N MB (default 400, 10^6 bytes) of seeded normal F32 values in K tensors (default 40),
           written atomically and streamed by Safetensors.write.
    read:  opens FILE, reads every tensor into Float tensors (Safetensors.read), checksums them,
           and prints a Markdown table row: file size, seconds, GB/s, peak RSS (VmHWM), RSS before
           reading, and the peak as a multiple of the file size. R runs (default 1); peak is over all.
           --cold asks the kernel to drop the file's cached pages before each run
           (posix_fadvise DONTNEED; Linux, no privileges needed), so the disk is read.
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("safetensors-bench: \(message)\n".utf8))
    exit(2)
}

/// A field of /proc/self/status in bytes (Linux), e.g. "VmHWM" (peak resident set) or "VmRSS".
func procStatusBytes(_ field: String) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
    }
    return nil
}

/// Asks the kernel to evict `path`'s pages from the page cache (best effort).
func dropCachedPages(_ path: String) {
    #if canImport(Glibc)
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return }
    fdatasync(fd)
    _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_DONTNEED))
    close(fd)
    #endif
}

/// Whether this is a debug build (a function, so the rest of the program is not unreachable code there).
@inline(never) func isDebugBuild() -> Bool {
    #if DEBUG
    return true
    #else
    return false
    #endif
}

if isDebugBuild() { fail("refusing to run a debug build: run `swift run -c release safetensors-bench …`") }

var args = Array(CommandLine.arguments.dropFirst())
guard args.count >= 2, ["write", "read"].contains(args[0]) else {
    print(usage)
    exit(args.contains("--help") ? 0 : 2)
}
let command = args.removeFirst()
let path = args.removeFirst()
var megabytes = 400, tensorCount = 40, repeats = 1, cold = false
while !args.isEmpty {
    let flag = args.removeFirst()
    if flag == "--cold" { cold = true; continue }
    guard let v = args.first.flatMap(Int.init), v > 0 else { fail("\(flag) needs a positive whole number") }
    args.removeFirst()
    switch flag {
    case "--megabytes": megabytes = v
    case "--tensors": tensorCount = v
    case "--repeat": repeats = v
    default: fail("unknown option \(flag)")
    }
}

do {
    if command == "write" {
        let elements = megabytes * 1_000_000 / 4 / tensorCount
        var g = SeededGenerator(seed: 1)
        var tensors: [String: Tensor] = [:]
        for i in 0..<tensorCount {
            tensors["layers.\(i).weight"] = Tensor.randomNormal(shape: [elements / 1000, 1000], generator: &g)
        }
        let start = Date()
        try Safetensors.write(tensors, metadata: ["writer": "safetensors-bench"], to: path)
        let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        print(String(format: "wrote %@: %d tensors, %.1f MB in %.2f s", path, tensorCount, Double(bytes) / 1e6, Date().timeIntervalSince(start)))
    } else {
        let before = procStatusBytes("VmRSS") ?? 0
        var times: [Double] = []
        var fileBytes = 0
        var checksum: Double = 0
        for _ in 0..<repeats {
            if cold { dropCachedPages(path) }
            let start = Date()
            let file = try SafetensorsFile(path: path)
            let tensors = try file.tensors()
            times.append(Date().timeIntervalSince(start))
            fileBytes = file.fileBytes
            checksum = 0
            for name in tensors.keys.sorted() { checksum += Double(tensors[name]!.scalars.first ?? 0) }
        }
        let peak = procStatusBytes("VmHWM") ?? 0
        let best = times.min() ?? 0
        print("| file MB | best s | GB/s | peak RSS MB | RSS before MB | peak / file |")
        print("|---:|---:|---:|---:|---:|---:|")
        print(String(format: "| %.1f | %.3f | %.2f | %.1f | %.1f | %.3f× |", Double(fileBytes) / 1e6, best, Double(fileBytes) / best / 1e9,
                     Double(peak) / 1e6, Double(before) / 1e6, Double(peak) / Double(fileBytes)))
        print(String(format: "(%@ cache; times: %@; checksum %.6f)", cold ? "cold" : "warm", times.map { String(format: "%.3f", $0) }.joined(separator: ", "), checksum))
    }
} catch {
    fail("\(error)")
}
