import Foundation
/// A bad command line: an unknown flag, a missing or malformed value. Example programs print
/// it and exit with status 1.
public struct UsageError: Error, CustomStringConvertible, Sendable {
    /// The message shown to the user.
    public let description: String
    /// A usage error saying `description`.
    public init(_ description: String) { self.description = description }
}

/// The arguments of an example program, consumed flag by flag, with the value checks every
/// example needs (each failure names the flag and the text it got).
public struct ArgumentList {
    private var remaining: ArraySlice<String>

    /// The arguments after the program name.
    public init(_ arguments: [String]) { remaining = arguments[...] }

    /// The next argument (a flag), or `nil` at the end.
    public mutating func next() -> String? { remaining.popFirst() }

    /// The value after `flag`.
    public mutating func value(for flag: String) throws -> String {
        guard let v = remaining.popFirst() else { throw UsageError("\(flag) needs a value") }
        return v
    }

    /// A whole number ≥ 1 after `flag`.
    public mutating func positiveInt(for flag: String) throws -> Int {
        let v = try value(for: flag)
        guard let n = Int(v), n >= 1 else { throw UsageError("\(flag) needs a whole number ≥ 1, got \"\(v)\"") }
        return n
    }

    /// A finite number after `flag`, at least `minimum` (or above it when `strictly`).
    public mutating func float(for flag: String, minimum: Float = 0, strictly: Bool = false) throws -> Float {
        let v = try value(for: flag)
        guard let x = Float(v), x.isFinite, strictly ? x > minimum : x >= minimum else {
            throw UsageError("\(flag) needs a finite number \(strictly ? ">" : "≥") \(minimum), got \"\(v)\"")
        }
        return x
    }
}

extension ArgumentList {
    /// A whole number in `range` after `flag` (a value that does not parse as `Int`, such as
    /// one beyond `Int.max`, is out of range too).
    public mutating func int(for flag: String, in range: ClosedRange<Int>) throws -> Int {
        let v = try value(for: flag)
        guard let n = Int(v), range.contains(n) else {
            throw UsageError("\(flag) needs a whole number in \(range.lowerBound)…\(range.upperBound), got \"\(v)\"")
        }
        return n
    }

    /// A finite number in `range` after `flag`; `excludingLowerBound` makes the range open
    /// on the left (a learning rate must be > 0).
    public mutating func float(for flag: String, in range: ClosedRange<Float>, excludingLowerBound: Bool = false) throws -> Float {
        try ArgumentList.float(try value(for: flag), flag: flag, in: range, excludingLowerBound: excludingLowerBound)
    }

    /// `text` as a finite number in `range` (see `float(for:in:excludingLowerBound:)`).
    public static func float(_ text: String, flag: String, in range: ClosedRange<Float>, excludingLowerBound: Bool = false) throws -> Float {
        guard let x = Float(text), x.isFinite, range.contains(x), !(excludingLowerBound && x == range.lowerBound) else {
            let left = excludingLowerBound ? "(" : "["
            throw UsageError("\(flag) needs a number in \(left)\(range.lowerBound), \(range.upperBound)], got \"\(text)\"")
        }
        return x
    }

    /// A seed after `flag`: a whole number in 0…2⁶⁴−1.
    public mutating func seed(for flag: String) throws -> UInt64 {
        let v = try value(for: flag)
        guard let s = UInt64(v) else { throw UsageError("\(flag) needs a whole number in 0…\(UInt64.max), got \"\(v)\"") }
        return s
    }
}

/// The ranges every example checks its numeric flags against before doing any work, and the
/// one way they report a bad command line.
public enum ExampleCommandLine {
    /// `--threads`: 1…1024 (OpenBLAS and Graft's pool take an `Int32`-sized count; more
    /// threads than this only oversubscribe).
    public static let threads = 1...1024
    /// `--epochs`, `--pretrain-epochs`: 1…10 000.
    public static let epochs = 1...10_000
    /// `--seeds`: 1…1 000 runs.
    public static let seedCount = 1...1_000
    /// `--batch-size`: 1…65 536.
    public static let batchSize = 1...65_536
    /// Learning rates: (0, 10].
    public static let learningRate: ClosedRange<Float> = 0...10

    /// Parses the process's arguments with `parse` and prepares the output folder named by
    /// `output`, before any work; any error ends the program with one usage line (exit 2).
    public static func parseOrExit<Options>(_ program: String, _ parse: ([String]) throws -> Options,
                                            output: (Options) -> String) -> (options: Options, outputFolder: URL) {
        do {
            let options = try parse(Array(CommandLine.arguments.dropFirst()))
            return (options, try prepareOutputFolder(output(options)))
        } catch {
            exitWithUsageError(program, error)
        }
    }

    /// Prints `PROGRAM: message (see --help)` on standard error, one line, and exits with
    /// status 2 (the status of every example's command-line errors).
    public static func exitWithUsageError(_ program: String, _ error: any Error) -> Never {
        let message = "\(error)"
        let text = "\(program): \(message)\(message.hasSuffix("(see --help)") ? "" : " (see --help)")\n"
        FileHandle.standardError.write(Data(text.utf8))
        exit(2)
    }

    /// Checks `--output` before any work starts: a non-empty path to a folder that exists or
    /// can be created, and in which a file can be written (probed by creating and removing
    /// a file). Returns the folder's URL.
    /// - Throws: `UsageError` naming the flag and the reason.
    public static func prepareOutputFolder(_ path: String, flag: String = "--output") throws -> URL {
        guard !path.isEmpty else { throw UsageError("\(flag) needs a folder name, got an empty one") }
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw UsageError("\(flag) \(path) is a file, not a folder")
        }
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw UsageError("\(flag) \(path): cannot create the folder (\((error as NSError).localizedDescription))")
        }
        let probe = url.appendingPathComponent(".graft-write-check-\(getpid())")
        guard FileManager.default.createFile(atPath: probe.path, contents: Data()) else {
            throw UsageError("\(flag) \(path): the folder is not writable")
        }
        try? FileManager.default.removeItem(at: probe)
        return url
    }
}
