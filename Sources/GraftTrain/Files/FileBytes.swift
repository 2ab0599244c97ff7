import Foundation

/// Reads a whole file into memory with typed errors and a size limit.
///
/// The limit is checked before reading, so a hostile or mistaken path (a disk image, a
/// device) is refused instead of exhausting memory.
public enum FileBytes {
    /// The default size limit: 1 GiB, far above any data set Graft ships or expects.
    public static let defaultLimit = 1 << 30

    /// The bytes of the file at `url`.
    /// - Throws: `DataError.missingFile`, `.unreadableFile` (a directory, a device or
    ///   pipe, permissions, an I/O error) or `.fileTooLarge`. Symbolic links are followed.
    public static func read(_ url: URL, limit: Int = FileBytes.defaultLimit) throws -> [UInt8] {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError.missingFile(file: path)
        }
        guard !isDirectory.boolValue else {
            throw DataError.unreadableFile(file: path, reason: "it is a directory")
        }
        // `stat` follows symbolic links (a link to a checkpoint or IDX file is read as that
        // file); a dangling link was already reported as missing by `fileExists`.
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw DataError.unreadableFile(file: path, reason: String(cString: strerror(errno)))
        }
        // A device or FIFO (`/dev/zero`, a pipe) has no meaningful size and may never end.
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw DataError.unreadableFile(file: path, reason: "not a regular file")
        }
        if Int(status.st_size) > limit {
            throw DataError.fileTooLarge(file: path, bytes: Int(status.st_size), limit: limit)
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw DataError.unreadableFile(file: path, reason: error.localizedDescription)
        }
        guard data.count <= limit else {
            throw DataError.fileTooLarge(file: path, bytes: data.count, limit: limit)
        }
        return [UInt8](data)
    }
}
