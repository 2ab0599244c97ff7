/// A malformed or inconsistent trace file, located by a JSON path such as
/// `groups[1].recipe.base.momentum` or `steps[3].gradients[0]["body.weight"]`.
public struct TraceError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Where in the file.
    public let location: String
    /// What is wrong.
    public let message: String

    /// An error at `location` (a JSON path) saying `message`.
    public init(_ location: String, _ message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { location.isEmpty ? message : "\(location): \(message)" }
}
