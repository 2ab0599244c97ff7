import Foundation

/// Finds the shipped `Data/digits16` folder at run time.
///
/// Looks, in order:
/// 1. at an explicit path, when one is given (authoritative: no fallback if it is wrong);
/// 2. at the `GRAFT_DATA` environment variable, when set (also authoritative);
/// 3. in `Data/digits16` under the current directory and each of its parents;
/// 4. in `Data/digits16` under the executable's folder and each of its parents (a
///    SwiftPM build puts executables in `.build/<config>/`, inside the package).
///
/// A path given explicitly or through `GRAFT_DATA` may name the data folder itself or a
/// package root containing `Data/digits16`. A folder counts when it holds `SHA256SUMS`.
/// When nothing is found, `DataError.dataNotFound` lists every place that was tried.
public enum DataLocator {
    /// The environment variable that points at the data folder.
    public static let environmentVariable = "GRAFT_DATA"
    /// The data folder's path relative to the package root.
    public static let relativePath = "Data/digits16"
    /// The file whose presence marks a data folder.
    public static let markerFile = "SHA256SUMS"

    /// The data folder, searched as described above.
    /// - Parameters:
    ///   - explicitPath: a path from the user (a command-line flag), or `nil`.
    ///   - environment: the process environment (injectable for tests).
    ///   - currentDirectory: where the upward search starts.
    ///   - executablePath: the running program, or `nil` to skip that search.
    /// - Throws: `DataError.dataNotFound` listing the places searched.
    public static func locate(
        explicitPath: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        currentDirectory: String = FileManager.default.currentDirectoryPath,
        executablePath: String? = DataLocator.currentExecutablePath
    ) throws -> URL {
        var searched = [String]()
        func check(_ url: URL) -> URL? {
            let path = url.standardizedFileURL.path
            if !searched.contains(path) { searched.append(path) }
            return isDataFolder(url) ? url.standardizedFileURL : nil
        }
        func checkGiven(_ path: String) -> URL? {
            let url = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: currentDirectory, isDirectory: true))
            return check(url) ?? check(url.appendingPathComponent(relativePath))
        }
        if let explicitPath {
            if let found = checkGiven(explicitPath) { return found }
            throw DataError.dataNotFound(searched: searched)
        }
        if let fromEnvironment = environment[environmentVariable], !fromEnvironment.isEmpty {
            if let found = checkGiven(fromEnvironment) { return found }
            throw DataError.dataNotFound(searched: searched.map { "\($0) (from \(environmentVariable))" })
        }
        var starts = [URL(fileURLWithPath: currentDirectory, isDirectory: true)]
        if let executablePath {
            starts.append(URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        for start in starts {
            var directory = start.standardizedFileURL
            while true {
                if let found = check(directory.appendingPathComponent(relativePath)) { return found }
                let parent = directory.deletingLastPathComponent().standardizedFileURL
                if parent.path == directory.path || directory.path == "/" { break }
                directory = parent
            }
        }
        throw DataError.dataNotFound(searched: searched)
    }

    /// Whether `url` is a folder holding `SHA256SUMS`.
    public static func isDataFolder(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
            && FileManager.default.fileExists(atPath: url.appendingPathComponent(markerFile).path)
    }

    /// The running executable's path (`/proc/self/exe` on Linux), or `nil` if unknown.
    public static var currentExecutablePath: String? {
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        #endif
        return Bundle.main.executablePath
    }
}
