import Foundation
import GraftTensor

/// A labelled set of single-channel square images: the unit the fine-tuning benchmark
/// trains and evaluates on.
///
/// `images` is a `[count, side · side]` tensor (one flattened image per row, pixels in
/// [0, 1], white digit on black for the shipped data); `labels[i]` is the class of row `i`.
public struct DigitDataset: Sendable, Equatable {
    /// A short name for tables and messages ("mnist", "optdigits", "optdigits/rotate").
    public var name: String
    /// `[count, side · side]` pixels in [0, 1]. (Settable inside the module only, where
    /// operations keep the shape; users go through `replacingImages`.)
    public internal(set) var images: Tensor
    /// One class in `0..<classCount` per image.
    public let labels: [Int]
    /// The image side in pixels.
    public let side: Int
    /// The number of classes labels range over.
    public let classCount: Int

    /// The number of samples.
    public var count: Int { labels.count }
    /// Pixels per image (`side · side`).
    public var pixelCount: Int { side * side }

    /// Creates a data set, checking its invariants.
    /// - Throws: `DataError.invalidArgument` when `images` is not `[labels.count, side²]`,
    ///   `side` or `classCount` is not positive, or a label is outside `0..<classCount`.
    public init(name: String, images: Tensor, labels: [Int], side: Int, classCount: Int = 10) throws {
        guard side > 0, classCount > 0 else {
            throw DataError.invalidArgument("\(name): side (\(side)) and classCount (\(classCount)) must be positive")
        }
        let (pixels, overflow) = side.multipliedReportingOverflow(by: side)
        guard !overflow, images.shape == [labels.count, pixels] else {
            throw DataError.invalidArgument("\(name): images have shape \(images.shape), expected [\(labels.count), \(side)·\(side)]")
        }
        if let bad = labels.firstIndex(where: { !(0..<classCount).contains($0) }) {
            throw DataError.invalidArgument("\(name): label \(labels[bad]) at index \(bad) is outside 0..<\(classCount)")
        }
        self.name = name
        self.images = images
        self.labels = labels
        self.side = side
        self.classCount = classCount
    }

    /// Builds a data set from decoded IDX images and labels, scaling pixels by 1/255.
    /// - Throws: `DataError.countMismatch` when the counts differ, `.nonSquareImages` when
    ///   rows ≠ columns, `.labelOutOfRange` for a label outside `0..<classCount`.
    public init(name: String, images: IDXImages, labels: [Int], classCount: Int = 10,
                imagesFile: String = "images", labelsFile: String = "labels") throws {
        guard images.count == labels.count else {
            throw DataError.countMismatch(imagesFile: imagesFile, images: images.count,
                                          labelsFile: labelsFile, labels: labels.count)
        }
        guard images.rows == images.columns else {
            throw DataError.nonSquareImages(file: imagesFile, rows: images.rows, columns: images.columns)
        }
        if let bad = labels.firstIndex(where: { !(0..<classCount).contains($0) }) {
            throw DataError.labelOutOfRange(file: labelsFile, index: bad, label: labels[bad], classCount: classCount)
        }
        var scalars = [Float](repeating: 0, count: images.pixels.count)
        images.pixels.withUnsafeBufferPointer { src in
            scalars.withUnsafeMutableBufferPointer { dst in
                for i in 0..<src.count { dst[i] = Float(src[i]) * (1 / 255) }
            }
        }
        let tensor = try Tensor(shape: [images.count, images.rows * images.columns], scalars: scalars)
        try self.init(name: name, images: tensor, labels: labels, side: images.rows, classCount: classCount)
    }

    /// Reads an IDX image file and an IDX label file into a data set. When `checksums` is
    /// given, both files must be listed in it and match.
    /// - Throws: `DataError` naming the offending file.
    public static func load(name: String, images imagesURL: URL, labels labelsURL: URL,
                            classCount: Int = 10, checksums: ChecksumList? = nil) throws -> DigitDataset {
        let imageBytes = try checksums.map { try $0.readVerified(imagesURL) } ?? FileBytes.read(imagesURL)
        let labelBytes = try checksums.map { try $0.readVerified(labelsURL) } ?? FileBytes.read(labelsURL)
        let images = try IDX.parseImages(imageBytes, file: imagesURL.path)
        let labels = try IDX.parseLabels(labelBytes, file: labelsURL.path, classCount: classCount)
        return try DigitDataset(name: name, images: images, labels: labels, classCount: classCount,
                                imagesFile: imagesURL.path, labelsFile: labelsURL.path)
    }

    /// The samples at `indices`, in that order (indices may repeat).
    /// - Throws: `DataError.indexOutOfRange` for an index outside `0..<count`.
    public func subset(_ indices: [Int], name: String? = nil) throws -> DigitDataset {
        if let bad = indices.first(where: { !(0..<count).contains($0) }) {
            throw DataError.indexOutOfRange(index: bad, count: count)
        }
        let p = pixelCount
        var scalars = [Float](repeating: 0, count: indices.count * p)
        images.withUnsafeBufferPointer { src in
            scalars.withUnsafeMutableBufferPointer { dst in
                for (row, i) in indices.enumerated() {
                    let from = UnsafeBufferPointer(rebasing: src[(i * p)..<((i + 1) * p)])
                    _ = UnsafeMutableBufferPointer(rebasing: dst[(row * p)..<((row + 1) * p)]).initialize(from: from)
                }
            }
        }
        return try DigitDataset(name: name ?? self.name, images: Tensor(shape: [indices.count, p], scalars: scalars),
                                labels: indices.map { labels[$0] }, side: side, classCount: classCount)
    }

    /// The indices of each class's samples in ascending order: `indicesByClass[c]` lists
    /// every `i` with `labels[i] == c`.
    public var indicesByClass: [[Int]] {
        var lists = [[Int]](repeating: [], count: classCount)
        for (i, label) in labels.enumerated() { lists[label].append(i) }
        return lists
    }

    /// The number of samples of each class.
    public var classCounts: [Int] { indicesByClass.map(\.count) }

    /// The same labels with new images of the same shape (for example augmented or
    /// corrupted ones).
    /// - Throws: `DataError.invalidArgument` when `images` has another shape.
    public func replacingImages(_ images: Tensor, name: String? = nil) throws -> DigitDataset {
        guard images.shape == self.images.shape else {
            throw DataError.invalidArgument("\(self.name): replacement images have shape \(images.shape), expected \(self.images.shape)")
        }
        return try DigitDataset(name: name ?? self.name, images: images, labels: labels, side: side, classCount: classCount)
    }

    /// The samples of `datasets` one after another (for example MNIST + fonts for
    /// pre-training).
    /// - Throws: `DataError.invalidArgument` when the list is empty or the sets differ in
    ///   side or class count.
    public static func concatenating(_ datasets: [DigitDataset], name: String? = nil) throws -> DigitDataset {
        guard let first = datasets.first else { throw DataError.invalidArgument("nothing to concatenate") }
        guard datasets.allSatisfy({ $0.side == first.side && $0.classCount == first.classCount }) else {
            throw DataError.invalidArgument("cannot concatenate data sets of different image sides or class counts")
        }
        var scalars = [Float]()
        scalars.reserveCapacity(datasets.reduce(0) { $0 + $1.images.count })
        for d in datasets { scalars.append(contentsOf: d.images.scalars) }
        let labels = datasets.flatMap(\.labels)
        return try DigitDataset(name: name ?? datasets.map(\.name).joined(separator: "+"),
                                images: Tensor(shape: [labels.count, first.pixelCount], scalars: scalars),
                                labels: labels, side: first.side, classCount: first.classCount)
    }
}
