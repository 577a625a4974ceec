import Foundation
import Matrix
import Testing

@testable import Hypervisor

/// A build cache shared by the tasks of a cluster (`nestci build --cache`, `nestci cell run
/// --cache`), where `flock` may not exclude anyone (NFS): publication alone keeps it right.
@Suite("Builds: a shared cache without working locks", .enabled(if: Tool.exists("gcc") && Tool.exists("make"), "needs gcc and make"))
struct SharedCacheTests {
    @Test("no lock can be taken: two builders of one key both build, the first published stays, both get it, nothing is left over")
    func publicationWithoutLocks() async throws {
        let scratch = try Scratch("shared-cache")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let store = scratch.path("store")
        // A file where the lock folder should be: every per-key lock fails to open, as a lock
        // service that is not there would make it fail.
        try FileManager.default.createDirectory(at: store.appendingPathComponent("builds"), withIntermediateDirectories: true)
        try Data().write(to: store.appendingPathComponent("builds/.locks"))
        let counter = scratch.path("started")
        let spec = BuildSpec.fixture(repository, opt: .O0, bits: .amd64, counter: counter)

        var options = BuilderOptions()
        options.sharedCache = true
        let (first, second) = (Builder(store: store, options: options), Builder(store: store, options: options))
        async let a = first.build(spec)
        async let b = second.build(spec)
        let records = try await [a, b]
        #expect(startedCount(counter) == 2, "without a lock both build")
        #expect(records.allSatisfy { $0.status == .passed })
        #expect(records[0].directory == records[1].directory, "both use the one published build")
        #expect(records.filter(\.cacheHit).count == 1, "the loser reports the winner's build as a hit")
        let builds = store.appendingPathComponent("builds")
        let objects = try FileManager.default.contentsOfDirectory(atPath: builds.appendingPathComponent(".objects").path)
        #expect(objects == [records[0].directory!.lastPathComponent], "the loser's object is gone")
        let rest = try FileManager.default.contentsOfDirectory(atPath: builds.path).filter { $0.hasPrefix(".tmp-") || $0.hasPrefix(".link-") }
        #expect(rest.isEmpty)

        // Without sharedCache the same store is an error, as before (a local store needs its locks).
        await #expect(throws: BuildError.self) { _ = try await Builder(store: store, options: BuilderOptions(rebuild: true)).build(spec) }
    }
}
