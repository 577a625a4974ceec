import Foundation
import Matrix

#if canImport(Glibc)
    import Glibc
#endif

/// Figures from ``BuildBenchmark/run(in:compiler:)``.
public struct BuildBenchmarkFigures: Sendable, CustomStringConvertible {
    /// Build requests issued (cells).
    public var requests: Int
    /// Distinct cache keys among them.
    public var uniqueKeys: Int
    /// Build commands started on the cold run (target: `uniqueKeys`).
    public var buildsRun: Int
    /// Build commands started on the warm run (target: 0).
    public var warmBuildsRun: Int
    /// Builds that did not pass on the cold run (expected 0 on a host with gcc multilib).
    public var failedBuilds: Int
    public var coldSeconds: Double
    public var warmSeconds: Double
    /// nestci's own CPU time (user + system, children excluded) over both runs.
    public var cpuSeconds: Double
    public var wallSeconds: Double

    /// Builds run per unique key; 1.00 means single flight held.
    public var buildsPerKey: Double { uniqueKeys == 0 ? 0 : Double(buildsRun) / Double(uniqueKeys) }
    /// Warm run time as a share of the cold run.
    public var warmShare: Double { coldSeconds == 0 ? 0 : warmSeconds / coldSeconds }
    /// nestci's CPU time as a share of wall time: its overhead while compilers work.
    public var cpuShare: Double { wallSeconds == 0 ? 0 : cpuSeconds / wallSeconds }

    public var description: String {
        func f(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }
        return """
            build requests:        \(requests) (\(uniqueKeys) unique keys)
            builds run (cold):     \(buildsRun)  -> builds / unique keys = \(f(buildsPerKey)) (target 1.00)
            failed builds:         \(failedBuilds)
            cold run:              \(f(coldSeconds, 3)) s
            cache-hit re-run:      \(f(warmSeconds, 3)) s, \(warmBuildsRun) builds (\(f(warmShare * 100, 1)) % of cold)
            nestci CPU / wall:     \(f(cpuSeconds, 3)) s / \(f(wallSeconds, 3)) s = \(f(cpuShare * 100, 1)) %
            """
    }
}

/// The build benchmark behind `nestci bench builds`: a fixture matrix of 12 build
/// requests sharing 4 keys (-O0/-O3 × i386/amd64, three cells each), built cold into a
/// fresh store and then again by a new builder on the same store.
public enum BuildBenchmark {
    /// Runs the benchmark in a temporary folder under `folder` (removed afterwards).
    ///
    /// - Throws: what ``Builder/build(_:)`` throws, or ``SourceError`` when the fixture
    ///   repository cannot be made (git missing).
    public static func run(
        in folder: URL = FileManager.default.temporaryDirectory, compiler: String = "gcc"
    ) async throws -> BuildBenchmarkFigures {
        let root = folder.appendingPathComponent("nestci-bench-builds-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let repository = root.appendingPathComponent("project")
        try await makeProject(at: repository)
        let store = root.appendingPathComponent("store")

        var specs: [BuildSpec] = []
        for opt in [OptLevel.O0, .O3] {
            for bits in Bits.allCases {
                let spec = BuildSpec(
                    component: "benchproject", repository: repository.path, revision: "main",
                    command: "make BITS={bits} OPT='{opt}' CC=\(compiler) -j{jobs}",
                    outputs: ["prog": "out/{bits}/prog"], opt: opt, bits: bits, variables: [:], compiler: compiler,
                    timeoutSeconds: 300)
                specs += Array(repeating: spec, count: 3)  // three cells boot this build
            }
        }

        let cpuBefore = cpuTime()
        let wallStart = ContinuousClock.now
        let cold = Builder(store: store)
        let coldRecords = try await buildAll(specs, with: cold)
        let coldEnd = ContinuousClock.now
        let warm = Builder(store: store)
        _ = try await buildAll(specs, with: warm)
        let warmEnd = ContinuousClock.now
        let cpuSeconds = cpuTime() - cpuBefore

        return BuildBenchmarkFigures(
            requests: specs.count, uniqueKeys: Set(coldRecords.map(\.cacheKey)).count,
            buildsRun: await cold.buildsStarted, warmBuildsRun: await warm.buildsStarted,
            failedBuilds: Set(coldRecords.filter { $0.status != .passed }.map(\.cacheKey)).count,
            coldSeconds: (coldEnd - wallStart).seconds, warmSeconds: (warmEnd - coldEnd).seconds,
            cpuSeconds: cpuSeconds, wallSeconds: (warmEnd - wallStart).seconds)
    }

    private static func buildAll(_ specs: [BuildSpec], with builder: Builder) async throws -> [BuildRecord] {
        try await withThrowingTaskGroup(of: BuildRecord.self) { group in
            for spec in specs { group.addTask { try await builder.build(spec) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    /// This process's CPU time so far (user + system), children excluded.
    private static func cpuTime() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// A small C project in a fresh git repository, built like the test fixture.
    private static func makeProject(at folder: URL) async throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, text) in projectFiles {
            try Data(text.utf8).write(to: folder.appendingPathComponent(name))
        }
        do {
            try await Git.run(["init", "--quiet", "-b", "main"], in: folder.path)
            try await Git.run(["add", "-A"], in: folder.path)
            try await Git.run(
                ["-c", "user.name=nestci", "-c", "user.email=nestci@localhost", "commit", "--quiet", "-m", "bench"],
                in: folder.path)
        } catch let failure as Git.Failure {
            throw SourceError(.checkoutFailed, "cannot make the benchmark's git repository: git said: \(failure.said)")
        }
    }

    private static let projectFiles: [String: String] = [
        "Makefile": """
            BITS ?= amd64
            OPT ?= -O0
            ARCH := $(if $(filter i386,$(BITS)),-m32,-m64)
            CC = gcc
            CFLAGS := $(ARCH) -Wall -Werror $(OPT)
            OUT := out/$(BITS)
            all: $(OUT)/prog
            $(OUT)/prog: $(OUT)/main.o $(OUT)/work.o
            \t$(CC) $(ARCH) -o $@ $^
            $(OUT)/%.o: %.c | $(OUT)
            \t$(CC) $(CFLAGS) -c -o $@ $<
            $(OUT):
            \tmkdir -p $@

            """,
        "main.c": """
            #include <stdio.h>
            unsigned long work(unsigned long n);
            int main(void) { printf("%lu\\n", work(1000)); return 0; }

            """,
        "work.c": """
            unsigned long work(unsigned long n)
            {
                unsigned long sum = 0;
                for (unsigned long i = 0; i < n; i++)
                    sum += (i * i) ^ (sum >> 3);
                return sum;
            }

            """,
    ]
}
