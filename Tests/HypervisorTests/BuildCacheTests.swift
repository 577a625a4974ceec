import Foundation
import Matrix
import Testing

@testable import Hypervisor

@Suite("Builds: single flight and the build cache", .enabled(if: Tool.exists("gcc") && Tool.exists("make"), "needs gcc and make"))
struct BuildCacheTests {
    /// 12 cells needing 4 builds: -O0/-O3 × i386/amd64, each asked for by 3 cells.
    private func cells(_ repository: TestRepository, counter: URL) -> [BuildSpec] {
        var specs: [BuildSpec] = []
        for opt in [OptLevel.O0, .O3] {
            for bits in Bits.allCases {
                specs += Array(repeating: BuildSpec.fixture(repository, opt: opt, bits: bits, counter: counter), count: 3)
            }
        }
        return specs.shuffled()
    }

    private func buildConcurrently(_ specs: [BuildSpec], with builder: Builder) async throws -> [BuildRecord] {
        try await withThrowingTaskGroup(of: BuildRecord.self) { group in
            for spec in specs { group.addTask { try await builder.build(spec) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    @Test("12 concurrent requests sharing 4 keys run 4 builds; the next run 0; rebuild 4 again")
    func singleFlightAndCache() async throws {
        let scratch = try Scratch("cache")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let counter = scratch.path("started")
        let store = scratch.path("store")
        let specs = cells(repository, counter: counter)
        #expect(specs.count == 12 && Set(specs.map(\.key)).count == 4)

        let first = Builder(store: store)
        let cold = try await buildConcurrently(specs, with: first)
        #expect(startedCount(counter) == 4, "one build per key, counted by the processes that started")
        #expect(await first.buildsStarted == 4)
        #expect(cold.count == 12 && cold.allSatisfy { $0.status == .passed })
        #expect(Set(cold.map(\.cacheKey)).count == 4)

        let second = Builder(store: store)
        let warm = try await buildConcurrently(specs, with: second)
        #expect(startedCount(counter) == 4, "an unchanged nightly rebuilds nothing")
        #expect(await second.buildsStarted == 0)
        #expect(await second.cacheHits == 4)
        #expect(warm.allSatisfy { $0.cacheHit && $0.status == .passed })
        #expect(Set(warm.map(\.cacheKey)) == Set(cold.map(\.cacheKey)))

        let forced = Builder(store: store, options: BuilderOptions(rebuild: true))
        let rebuilt = try await buildConcurrently(specs, with: forced)
        #expect(startedCount(counter) == 8, "rebuild builds each key once more, still single flight")
        #expect(await forced.buildsStarted == 4)
        #expect(rebuilt.allSatisfy { !$0.cacheHit && $0.status == .passed })
        // The replaced builds left no staging or old folders behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: store.appendingPathComponent("builds").path)
            .filter { $0.hasPrefix(".tmp-") || $0.hasPrefix(".link-") || $0.hasPrefix(".old-") }
        #expect(leftovers.isEmpty)
    }

    @Test("a branch moved between runs gives a new commit and a rebuild")
    func branchMoved() async throws {
        let scratch = try Scratch("cache")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let counter = scratch.path("started")
        let store = scratch.path("store")
        let spec = BuildSpec.fixture(repository, opt: .O0, bits: .amd64, counter: counter)

        let monday = try await Builder(store: store).build(spec)
        let moved = try await repository.commit(file: "NOTES", "a new commit on main\n", message: "move main")
        let tuesday = try await Builder(store: store).build(spec)
        let wednesday = try await Builder(store: store).build(spec)

        #expect(monday.commit != moved && tuesday.commit == moved)
        #expect(monday.cacheKey != tuesday.cacheKey)
        #expect(startedCount(counter) == 2, "Tuesday rebuilt for the new commit")
        #expect(wednesday.cacheHit && wednesday.cacheKey == tuesday.cacheKey, "Wednesday: nothing moved, nothing built")
    }

    @Test("within a run, every cell builds the commit the run resolved, even if the branch moves meanwhile")
    func runPinsCommit() async throws {
        let scratch = try Scratch("cache")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let counter = scratch.path("started")
        let lines = Mutex<[(String, [String: String])]>([])
        let options = BuilderOptions(logger: { message, metadata in lines.withLock { $0.append((message, metadata)) } })
        let builder = Builder(store: scratch.path("store"), options: options)
        let first = try await builder.build(.fixture(repository, opt: .O0, bits: .amd64, counter: counter))
        try await repository.commit(file: "NOTES", "moved during the run\n", message: "move")
        let second = try await builder.build(.fixture(repository, opt: .O0, bits: .i386, counter: counter))
        #expect(first.commit == second.commit)
        // The logger hook hears each build with its metadata.
        let logged = lines.withLock { $0 }
        #expect(logged.contains { $0.0.hasPrefix("building with -O0") && $0.1["build.cacheKey"] == second.cacheKey })
        #expect(logged.contains { $0.0.hasPrefix("build passed") && $0.1["build.commit"] == String(first.commit.prefix(12)) })
    }

    @Test("a folder without record.json (a build killed half-way) is not a cache hit")
    func incompleteFolderIsNoHit() async throws {
        let scratch = try Scratch("cache")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let counter = scratch.path("started")
        let store = scratch.path("store")
        let spec = BuildSpec.fixture(repository, opt: .O0, bits: .amd64, counter: counter)
        let plan = try await Builder(store: store).plan(spec)
        // What a crash could leave: the final folder with a log but no record.
        let folder = BuildCache(store: store).folder(for: plan.cacheKey)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("half a log".utf8).write(to: folder.appendingPathComponent("build.log"))

        let record = try await Builder(store: store).build(spec)
        #expect(!record.cacheHit && record.status == .passed)
        #expect(startedCount(counter) == 1)
        #expect(try String(contentsOf: folder.appendingPathComponent("build.log"), encoding: .utf8) != "half a log")
    }

    @Test("a collected output that went missing from the cache means rebuild")
    func missingCachedOutputIsNoHit() async throws {
        let scratch = try Scratch("cache")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let counter = scratch.path("started")
        let store = scratch.path("store")
        let spec = BuildSpec.fixture(repository, opt: .O0, bits: .amd64, counter: counter)
        let first = try await Builder(store: store).build(spec)
        try FileManager.default.removeItem(at: try #require(first.outputURL("prog")))
        let second = try await Builder(store: store).build(spec)
        #expect(!second.cacheHit && second.status == .passed)
        #expect(startedCount(counter) == 2)
    }

    @Test("keepWorktrees leaves the checkout for a developer to look at")
    func keepWorktrees() async throws {
        let scratch = try Scratch("cache")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let builder = Builder(store: scratch.path("store"), options: BuilderOptions(keepWorktrees: true))
        let record = try await builder.build(.fixture(repository, opt: .O0, bits: .amd64, counter: scratch.path("started")))
        let worktree = try #require(record.worktree)
        #expect(FileManager.default.fileExists(atPath: worktree + "/out/amd64/prog"))
        #expect(try await TestRepository(url: URL(fileURLWithPath: worktree)).git("rev-parse", "HEAD") == record.commit)
    }

    @Test("build slots: at most maxParallel at once, {jobs} shares the cores")
    func slots() async throws {
        let slots = BuildSlots(limit: 2, cores: 4)
        #expect(try await slots.acquire() == 4, "alone: every core")
        #expect(try await slots.acquire() == 2, "two running: half each")
        let third = Task { try await slots.acquire() }
        try await Task.sleep(for: .milliseconds(100))
        await slots.release()
        #expect(try await third.value == 2, "the third waited for a slot")
        let small = BuildSlots(limit: 8, cores: 2)
        for _ in 0..<5 { _ = try await small.acquire() }
        #expect(try await small.acquire() == 1, "never below 1")
    }
}
