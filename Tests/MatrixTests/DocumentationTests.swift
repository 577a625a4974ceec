import Foundation
import Testing

@testable import Matrix

/// Issue 11 §5: docs/matrix.md documents every key the reader accepts.
@Suite("Matrix documentation")
struct DocumentationTests {
    static let reference = MatrixFixtures.repositoryRoot.appendingPathComponent("docs/matrix.md").path

    /// A matrix with every optional section, so that the reader meets every kind of object.
    static let everySection = """
        {
          "name": "every", "description": "d",
          "defaults": {"timeouts": {"build": 60, "boot": 30}, "memory": 256},
          "components": {
            "hv": {"kind": "hypervisor", "description": "d", "repository": "/r/hv", "revision": "main", "options": "--x",
                   "commitURL": "https://git.example.org/hv/commit/{commit}",
                   "build": {"command": "make OPT='{opt}' {options}", "outputs": {"k": "hv.bin", "m": "m.bin"}, "compiler": "gcc", "timeout": 100},
                   "boot": {"kernel": "k", "modules": ["m"], "cmdline": "a=1", "handoff": "boot-sector", "grub": "{load}"}},
            "g": {"kind": "guest", "repository": "/r/g", "revision": "main", "build": {"command": "make {v}", "outputs": {"k": "g.bin"}}, "boot": {"kernel": "k"}},
            "img": {"kind": "image", "description": "d", "path": "/images/d.img", "bits": "amd64"}
          },
          "chains": {
            "n": {"description": "d", "levels": [{"component": "hv", "opt": "O0", "bits": "$bits", "options": "--y", "cmdline": "b=2"}, {"component": "g", "vars": {"v": "1"}}],
                  "verdict": {"pass": ["PASS", {"name": "iter", "regex": "iter", "minPerCPU": 3, "cpus": 2}], "fail": [{"name": "f", "regex": "FAIL"}],
                              "unsupported": [{"name": "u", "regex": "no VMX"}], "defaultFailMarkers": false, "cpuPattern": "CPU(\\\\d+)"},
                  "timeouts": {"build": 10, "boot": 20}, "memory": 512,
                  "milestones": ["banner", {"name": "runtime", "regex": "runtime"}],
                  "performance": {"history": 8, "minHistory": 3, "minChangePercent": 10, "band": 3}},
            "i": {"levels": [{"component": "hv"}, {"component": "img"}], "verdict": {"pass": ["OK"]}}
          },
          "axes": {"chain": ["n", "i"], "opt": ["O0"], "bits": ["amd64"], "smp": [1, 2], "backend": ["bochs"]},
          "exclude": [{"chain": "i", "opt": "O0", "smp": 1}],
          "include": [{"chain": "n", "extra": "1"}],
          "workarounds": [{"compiler": "gcc", "minMajor": 12, "maxMajor": 14, "levels": ["O3"], "flags": ["-Wno-x"], "reason": "r"}],
          "knownIssues": [{"signature": "FAIL fail:halt", "component": "hv", "expires": "2099-12-31", "link": "https://bugs.example.org/1"}]
        }
        """

    /// Every key some object was checked against while reading `text`.
    static func acceptedKeys(_ text: String) throws -> Set<String> {
        let diagnostics = Diagnostics(file: "m.json")
        _ = MatrixFileDecoder(diagnostics: diagnostics, baseDirectory: ".").decode(try JSONParser.parse(text))
        return diagnostics.acceptedKeys
    }

    @Test("every key the reader accepts appears in docs/matrix.md as `key`")
    func everyKeyDocumented() throws {
        let reference = try String(contentsOfFile: Self.reference, encoding: .utf8)
        var keys = try Self.acceptedKeys(Self.everySection)
        for example in [MatrixFixtures.xmhfExample, MatrixFixtures.demoExample] {
            keys.formUnion(try Self.acceptedKeys(String(contentsOfFile: example, encoding: .utf8)))
        }
        let lists = [
            MatrixFileDecoder.topKeys, MatrixFileDecoder.componentKeys, MatrixFileDecoder.buildKeys, MatrixFileDecoder.bootKeys,
            MatrixFileDecoder.chainKeys, MatrixFileDecoder.levelKeys, MatrixFileDecoder.verdictKeys, MatrixFileDecoder.markerKeys,
            MatrixFileDecoder.timeoutKeys, MatrixFileDecoder.workaroundKeys, MatrixFileDecoder.knownIssueKeys,
            MatrixFileDecoder.performanceKeys,
        ]
        keys.formUnion(lists.joined())
        #expect(keys.count >= 45, "the reader met every section: \(keys.sorted())")
        let missing = keys.filter { !reference.contains("`\($0)`") }.sorted()
        #expect(missing.isEmpty, "accepted but not documented in docs/matrix.md: \(missing)")
    }

    @Test("the reference's example section is itself valid")
    func sectionParses() throws {
        #expect(throws: Never.self) { try MatrixFile.parse(Self.everySection, file: "m.json").plan() }
    }
}
