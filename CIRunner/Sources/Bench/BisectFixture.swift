import Foundation
import Hypervisor

/// A throw-away git history of the fixture kernels for bisection tests and `nestci bench
/// bisect`: each commit sets what the kernel does through `forced.h` (fixture.c is patched
/// to include it), and a one-cell qemu-tcg matrix boots it with `mode=pass`.
public struct BisectFixture: Sendable {
    /// What a commit's kernel does.
    public enum Behaviour: Sendable, Hashable {
        /// Passes (mode=pass from the command line).
        case good
        /// The regression: `Fatal: Halting! Condition 'fixture_ok' failed` (mode=fail).
        case bad
        /// Another failure: a triple fault (FAIL, guest stopped).
        case otherFailure
        /// Does not compile.
        case broken
        /// Passes, but fails like `bad` on a boot with chance 1/`n` (the TSC decides).
        case flaky(Int)
        /// Commit number `index` of a bench history: bad or good; with `flakeseed=S` on the
        /// command line, a good commit is flaky (fails like `bad` on a quarter of its boots)
        /// when a hash of (S, index) is 0 mod 10: a seeded 10 % of good commits per trial.
        /// With `culprit=C` on the command line, commits numbered C and later are bad too:
        /// one history (and one build cache) serves trials with the culprit anywhere.
        case numbered(Int, bad: Bool)

        var header: String {
            switch self {
            case .good: "/* good */\n"
            case .bad: "#define FORCED_MODE \"fail\"\n"
            case .otherFailure: "#define FORCED_MODE \"triple\"\n"
            case .broken: "#error this commit does not build\n"
            case .flaky(let n): "#define FORCED_FLAKY \(max(1, n))\n"
            case .numbered(let index, let bad): "#define COMMIT_INDEX \(index)u\n" + (bad ? Behaviour.bad.header : "")
            }
        }
    }

    public let folder: String
    public var repository: String { "\(folder)/kernels" }
    public var matrix: String { "\(folder)/matrix.json" }
    public var store: String { "\(folder)/store" }

    /// A repository holding the fixture kernels at one commit (tag `good`, branch `main`).
    public static func make(in parent: String? = nil) async throws -> BisectFixture {
        let base = parent ?? FileManager.default.temporaryDirectory.path
        let folder = "\(base)/nestci-bisect-\(UUID().uuidString.prefix(8))"
        let fixture = BisectFixture(folder: folder)
        let kernels = FixtureMatrix.kernels
        guard FileManager.default.fileExists(atPath: "\(kernels)/Makefile") else {
            throw RunError(.missingInput, "the fixture kernels are not at \(kernels): run this from a nestci source checkout")
        }
        try FileManager.default.createDirectory(atPath: fixture.repository, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: kernels) where name != "build" {
            try FileManager.default.copyItem(atPath: "\(kernels)/\(name)", toPath: "\(fixture.repository)/\(name)")
        }
        // fixture.c obeys forced.h: a forced mode, or a flake decided by the TSC.
        let source = "\(fixture.repository)/fixture.c"
        var text = try String(contentsOfFile: source, encoding: .utf8)
        text = text.replacingOccurrences(of: "#include \"fixture.h\"\n", with: "#include \"fixture.h\"\n#include \"forced.h\"\n")
        text = text.replacingOccurrences(
            of: "\texit_value = cmdline_u32(\"exit\", 0);\n",
            with: """
                \texit_value = cmdline_u32("exit", 0);
                #ifdef COMMIT_INDEX
                \t{
                \t\tu32 seed = cmdline_u32("flakeseed", 0), h = seed * 2654435761u ^ (COMMIT_INDEX * 40503u + 0x9e37u);
                \t\th ^= h >> 13;
                \t\th *= 0x5bd1e995u;
                \t\th ^= h >> 15;
                \t\tif (seed && h % 10 == 0) {
                \t\t\tu32 lo, hi;
                \t\t\t__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
                \t\t\tif (((lo >> 8) ^ hi) % 4 == 0)
                \t\t\t\tmode = "fail";
                \t\t}
                \t\tu32 culprit = cmdline_u32("culprit", 0);
                \t\tif (culprit && COMMIT_INDEX >= culprit)
                \t\t\tmode = "fail";
                \t}
                #endif
                #ifdef FORCED_MODE
                \tmode = FORCED_MODE;
                #endif
                #ifdef FORCED_FLAKY
                \t{
                \t\tu32 lo, hi;
                \t\t__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
                \t\tif (((lo >> 8) ^ hi) % FORCED_FLAKY == 0)
                \t\t\tmode = "fail";
                \t}
                #endif

                """)
        try text.write(toFile: source, atomically: true, encoding: .utf8)
        try Behaviour.good.header.write(toFile: "\(fixture.repository)/forced.h", atomically: true, encoding: .utf8)
        try Self.matrixText.write(toFile: fixture.matrix, atomically: true, encoding: .utf8)
        try await fixture.git("init", "-q", "-b", "main")
        try await fixture.commit("fixture kernels")
        try await fixture.git("tag", "good")
        return fixture
    }

    public func remove() { try? FileManager.default.removeItem(atPath: folder) }

    /// Commits `behaviour` on the current branch (with `message` appended to HISTORY,
    /// unless `logged` is false: a side branch's commit, which must merge cleanly); returns
    /// the commit id.
    @discardableResult
    public func commit(_ message: String, behaviour: Behaviour? = nil, logged: Bool = true) async throws -> String {
        if let behaviour {
            try behaviour.header.write(toFile: "\(repository)/forced.h", atomically: true, encoding: .utf8)
        }
        if logged {
            let log = "\(repository)/HISTORY"
            let old = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            try (old + message + "\n").write(toFile: log, atomically: true, encoding: .utf8)
        }
        try await git("add", "-A")
        try await git("commit", "-q", "-m", message)
        return try await git("rev-parse", "HEAD")
    }

    /// Runs git in the repository; returns its output, trimmed.
    @discardableResult
    public func git(_ arguments: String...) async throws -> String {
        let result = try await SupervisedProcess.run(
            ProcessSpec(
                "git", ["-c", "user.name=nestci fixture", "-c", "user.email=fixture@nestci.invalid", "-c", "commit.gpgsign=false"] + arguments,
                environment: ["LC_ALL": "C"], workingDirectory: repository, timeout: .seconds(60)))
        guard result.succeeded else { throw RunError(.setup, "git \(arguments.joined(separator: " ")) failed: \(result.output)") }
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// One cell: the fixture kernel at -O0/i386 under qemu-tcg, `mode=pass`.
    public static let matrixText = """
        {
          "name": "bisect-fixture",
          "components": {
            "fixture": {"kind": "guest", "repository": "kernels", "revision": "main",
              "build": {"command": "make BITS={bits} OPT='{opt}'", "outputs": {"kernel": "build/{bits}/fixture.bin"}},
              "boot": {"kernel": "kernel"}}
          },
          "chains": {
            "pass": {"levels": [{"component": "fixture", "cmdline": "mode=pass exit=1"}], "verdict": {"pass": ["FIXTURE PASS"]}, "timeouts": {"boot": 60}}
          },
          "axes": {"chain": ["pass"], "opt": ["O0"], "bits": ["i386"], "backend": ["qemu-tcg"]}
        }
        """
}
