import Foundation

@testable import Matrix

/// Small matrix files written inline, and the repository's examples.
enum MatrixFixtures {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let xmhfExample = repositoryRoot.appendingPathComponent("examples/xmhf64-nightly.json").path
    static let demoExample = repositoryRoot.appendingPathComponent("examples/demo.json").path

    /// A minimal valid matrix: one hypervisor, one guest, two chains; `axes` and the
    /// extras (exclude/include) are spliced in as JSON text.
    static func matrix(axes: String, extra: String = "") -> String {
        """
        {
          "name": "t",
          "components": {
            "hv": {"repository": "/repo/hv", "revision": "main",
                   "build": {"command": "make OPT='{opt}' BITS={bits} {options}", "outputs": {"k": "out/{bits}/hv.bin"}},
                   "boot": {"kernel": "k"}},
            "guest": {"kind": "guest", "repository": "/repo/g", "revision": "main",
                   "build": {"command": "make OPT='{opt}' BITS={bits}", "outputs": {"k": "g.bin"}},
                   "boot": {"kernel": "k"}}
          },
          "chains": {
            "alone": {"levels": [{"component": "guest"}], "verdict": {"pass": ["PASS"]}},
            "nested": {"levels": [{"component": "hv"}, {"component": "guest"}], "verdict": {"pass": ["PASS"]}}
          },
          "axes": \(axes)\(extra.isEmpty ? "" : ",\n  " + extra)
        }
        """
    }

    static func plan(_ text: String) throws -> Plan { try MatrixFile.parse(text, file: "m.json").plan() }

    /// The messages of a matrix file that must fail to load.
    static func issues(_ text: String) -> [String] {
        do {
            _ = try MatrixFile.parse(text, file: "m.json")
            return []
        } catch let error as MatrixError {
            return error.issues.map(\.description)
        } catch {
            return ["unexpected \(error)"]
        }
    }
}
