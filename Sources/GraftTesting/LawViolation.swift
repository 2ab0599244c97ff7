/// A transform law that does not hold: what was compared and where the two runs first differ.
///
/// The laws of `TransformLaws` throw it, so they work under any test framework: a thrown
/// error fails a swift-testing `@Test` or an `XCTestCase` method that is marked `throws`.
public struct LawViolation: Error, Equatable, Sendable, CustomStringConvertible {
    /// The law (e.g. "fused = unfused").
    public let law: String
    /// The transform checked (its type), or what the caller named.
    public let subject: String
    /// Where the two results first differ (tensor, path, element and both values), or what else went wrong.
    public let detail: String
    /// The caller's file and line (where the law was checked).
    public let file: String, line: UInt

    /// A violation of `law` by `subject`.
    public init(law: String, subject: String, detail: String, file: String, line: UInt) {
        (self.law, self.subject, self.detail, self.file, self.line) = (law, subject, detail, file, line)
    }

    /// "file:line: law 'law' fails for subject: detail".
    public var description: String { "\(file):\(line): law '\(law)' fails for \(subject): \(detail)" }
}
