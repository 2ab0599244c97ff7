import Foundation

/// The three digit domains shipped in `Data/digits16` (see its README for sources and
/// licences): MNIST and printed fonts for pre-training, optdigits for fine-tuning.
///
/// Loading verifies every file against `SHA256SUMS` before parsing it, so a corrupted or
/// edited file is refused with `DataError.checksumMismatch` naming it.
public struct DigitDomains: Sendable {
    /// 4,000 MNIST digits (400 per class), resampled to 16×16.
    public let mnist: DigitDataset
    /// 720 printed digits (72 font faces × 10 digits).
    public let fonts: DigitDataset
    /// 1,797 UCI optdigits (≈180 per class), resampled to 16×16.
    public let optdigits: DigitDataset
    /// The font face of each `fonts` sample group, from `fonts-faces.txt`.
    public let fontFaces: [String]
    /// The folder the data came from.
    public let folder: URL

    /// The checksum file's name inside the data folder.
    public static let checksumFileName = "SHA256SUMS"

    /// Loads and verifies the domains from `folder` (the `Data/digits16` folder).
    /// - Throws: `DataError` naming the file that is missing, corrupted or malformed.
    public static func load(from folder: URL) throws -> DigitDomains {
        let checksums = try ChecksumList(contentsOf: folder.appendingPathComponent(checksumFileName))
        func domain(_ name: String) throws -> DigitDataset {
            try DigitDataset.load(name: name,
                                  images: folder.appendingPathComponent("\(name)-images-idx3-ubyte"),
                                  labels: folder.appendingPathComponent("\(name)-labels-idx1-ubyte"),
                                  classCount: 10, checksums: checksums)
        }
        let facesURL = folder.appendingPathComponent("fonts-faces.txt")
        let facesBytes = try checksums.readVerified(facesURL)
        guard let facesText = String(validating: facesBytes, as: UTF8.self) else {
            throw DataError.unreadableFile(file: facesURL.path, reason: "not UTF-8 text")
        }
        return DigitDomains(mnist: try domain("mnist"), fonts: try domain("fonts"), optdigits: try domain("optdigits"),
                            fontFaces: facesText.split(whereSeparator: \.isNewline).map(String.init),
                            folder: folder)
    }

    /// Locates the data folder with `DataLocator` (explicit path, `GRAFT_DATA`, then an
    /// upward search from the current directory and the executable) and loads it.
    /// - Throws: `DataError.dataNotFound` listing where it looked, or a loading error.
    public static func load(explicitPath: String? = nil) throws -> DigitDomains {
        try load(from: DataLocator.locate(explicitPath: explicitPath))
    }
}
