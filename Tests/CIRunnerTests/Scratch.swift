import Foundation

/// A throw-away folder under the temporary directory for a test's files and stand-in tools.
struct Scratch {
    let path: String

    init(_ prefix: String) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-\(prefix)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `script` as the executable `name` in this folder; returns its path.
    @discardableResult
    func executable(_ name: String, _ script: String) throws -> String {
        try Self.writeExecutable(script, to: "\(path)/\(name)")
    }

    /// Writes `script` to `path` with mode 0755; returns `path`.
    @discardableResult
    static func writeExecutable(_ script: String, to path: String) throws -> String {
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }
}
