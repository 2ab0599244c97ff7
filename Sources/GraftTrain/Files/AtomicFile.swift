import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files atomically: the bytes go to a temporary file in the destination's folder,
/// which is flushed to disk (`fsync`) and then renamed over the destination.
///
/// A reader therefore sees either the old file or the complete new one, never a partial
/// write, even if the process dies mid-write (POSIX `rename` within one file system is
/// atomic). On failure the temporary file is removed and the destination is unchanged.
///
/// A process killed mid-write (`kill -9`) cannot remove its temporary file
/// (`.NAME.tmp-PID-RANDOM`); the next successful write to `NAME` removes every such file
/// of `NAME` whose process no longer exists (`kill(PID, 0)` fails with `ESRCH`), and leaves
/// those of running processes and of other files alone.
public enum AtomicFile {
    /// Atomically replaces (or creates) the file at `url` with `bytes`.
    /// - Throws: `DataError.writeFailed` naming the file and the system's reason.
    public static func write(_ bytes: [UInt8], to url: URL) throws {
        let path = url.path
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw failure(path, "cannot create \(temporary): " + systemMessage()) }
        var ok = false
        defer {
            if !ok { unlink(temporary) }
        }
        var written = 0
        let writeError: String? = bytes.withUnsafeBytes { raw -> String? in
            while written < raw.count {
                let n = systemWrite(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return "write: " + systemMessage()
                }
                written += n
            }
            return nil
        }
        if let writeError {
            close(fd)
            throw failure(path, writeError)
        }
        guard fsync(fd) == 0 else {
            let message = systemMessage()
            close(fd)
            throw failure(path, "fsync: " + message)
        }
        guard close(fd) == 0 else { throw failure(path, "close: " + systemMessage()) }
        guard rename(temporary, path) == 0 else { throw failure(path, "rename: " + systemMessage()) }
        ok = true
        removeStaleTemporaries(of: url)
        // Persist the rename itself; a failure here does not undo the (already visible) write.
        let dfd = open(directory, O_RDONLY)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }

    /// Removes `.NAME.tmp-PID-*` files next to `url` left by processes that no longer run.
    /// Best effort: a file that cannot be listed or removed is left where it is.
    public static func removeStaleTemporaries(of url: URL) {
        let directory = url.deletingLastPathComponent().path
        let prefix = "." + url.lastPathComponent + ".tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]), pid > 0, pid != getpid() else { continue }
            if kill(pid, 0) == -1 && errno == ESRCH { unlink(directory + "/" + name) }
        }
    }

    /// Atomically replaces (or creates) the file at `url` with the UTF-8 bytes of `text`.
    public static func write(_ text: String, to url: URL) throws {
        try write(Array(text.utf8), to: url)
    }

    private static func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        return Glibc.write(fd, buffer, count)
        #else
        return Darwin.write(fd, buffer, count)
        #endif
    }

    private static func systemMessage() -> String {
        String(cString: strerror(errno))
    }

    private static func failure(_ path: String, _ reason: String) -> DataError {
        DataError.writeFailed(file: path, reason: reason)
    }
}
