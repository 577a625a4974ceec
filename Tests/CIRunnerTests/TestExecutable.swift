import Foundation

/// Stand-in tools for tests: a script written with mode 0755.
enum TestExecutable {
    /// Writes `script` to `path` with mode 0755; returns `path`.
    @discardableResult
    static func write(_ script: String, to path: String) throws -> String {
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }
}

extension EvidenceTestDirectory {
    /// Writes `script` as the executable `name` in this directory; returns its path.
    @discardableResult
    func executable(_ name: String, _ script: String) throws -> String {
        try TestExecutable.write(script, to: path(name))
    }
}
