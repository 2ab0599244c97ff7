import Foundation

/// A `SHA256SUMS` file: one `HASH  filename` line per file, as written by `sha256sum`
/// (64 hexadecimal digits, two spaces, or a space and `*` for binary mode, then the name).
///
/// Blank lines and lines starting with `#` are ignored. Names are relative to the folder
/// holding the checksum file.
public struct ChecksumList: Sendable, Equatable {
    /// The path of the checksum file (for error messages).
    public let file: String
    /// Lowercase hexadecimal SHA-256 digests keyed by file name.
    public let digests: [String: String]

    /// Parses the text of a checksum file; `file` names it in errors.
    /// - Throws: `DataError.malformedChecksumFile` naming the line, for a line that is not
    ///   `HASH  filename`, a digest that is not 64 hexadecimal digits, or a name listed twice.
    public init(parsing text: String, file: String) throws {
        self.file = file
        var digests = [String: String]()
        // `Character.isNewline` also matches "\r\n", a single `Character` in Swift.
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let lineNumber = index + 1
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) || line.hasPrefix("#") { continue }
            guard let space = line.firstIndex(of: " ") else {
                throw DataError.malformedChecksumFile(file: file, line: lineNumber, reason: "expected 'HASH  filename'")
            }
            let hash = line[..<space].lowercased()
            guard hash.count == 64, hash.allSatisfy({ $0.isHexDigit }) else {
                throw DataError.malformedChecksumFile(file: file, line: lineNumber,
                                                      reason: "'\(line[..<space].prefix(80))' is not a 64-digit SHA-256")
            }
            var rest = line[line.index(after: space)...]
            if rest.first == " " || rest.first == "*" { rest = rest.dropFirst() }
            let name = String(rest)
            guard !name.isEmpty else {
                throw DataError.malformedChecksumFile(file: file, line: lineNumber, reason: "missing file name")
            }
            guard digests[name] == nil else {
                throw DataError.malformedChecksumFile(file: file, line: lineNumber, reason: "\(name) is listed twice")
            }
            digests[name] = hash
        }
        self.digests = digests
    }

    /// Reads and parses the checksum file at `url`.
    /// - Throws: `DataError` (missing or unreadable file, malformed line).
    public init(contentsOf url: URL) throws {
        let bytes = try FileBytes.read(url, limit: 1 << 20)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw DataError.malformedChecksumFile(file: url.path, line: 0, reason: "not UTF-8 text")
        }
        try self.init(parsing: text, file: url.path)
    }

    /// Checks `bytes` against the digest listed for `name`; `path` names the file in errors.
    /// - Throws: `DataError.checksumNotListed` or `DataError.checksumMismatch`.
    public func verify(_ bytes: [UInt8], name: String, path: String) throws {
        guard let expected = digests[name] else {
            throw DataError.checksumNotListed(file: path, checksumFile: file)
        }
        let actual = SHA256.hash(bytes).hexString
        guard actual == expected else {
            throw DataError.checksumMismatch(file: path, expected: expected, actual: actual)
        }
    }

    /// Reads the file at `url` and checks it against the digest listed for its name,
    /// returning its bytes so the caller parses exactly what was verified.
    /// - Throws: `DataError` (missing file, not listed, checksum mismatch).
    public func readVerified(_ url: URL) throws -> [UInt8] {
        let bytes = try FileBytes.read(url)
        try verify(bytes, name: url.lastPathComponent, path: url.path)
        return bytes
    }
}
