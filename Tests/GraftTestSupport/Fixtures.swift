import Foundation

/// The folder that holds test fixtures: `Tests/Fixtures/` in the package, found from this
/// source file's location (`#filePath`), so tests can read fixtures without resources.
public let fixturesDirectory: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()   // Tests/GraftTestSupport
    .deletingLastPathComponent()   // Tests
    .appendingPathComponent("Fixtures", isDirectory: true)

/// The URL of fixture `name` (for example `"xoshiro256starstar.json"`) in `Tests/Fixtures/`.
/// It does not check that the file exists (`loadJSONFixture` does).
public func fixtureURL(_ name: String) -> URL {
    fixturesDirectory.appendingPathComponent(name)
}

/// Decodes fixture `name` from `Tests/Fixtures/` as JSON into `T`.
/// - Throws: the file-system error when it is missing, or the `DecodingError`.
public func loadJSONFixture<T: Decodable>(_ name: String, as type: T.Type = T.self) throws -> T {
    let data = try Data(contentsOf: fixtureURL(name))
    return try JSONDecoder().decode(T.self, from: data)
}
