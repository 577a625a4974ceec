import Foundation
import Matrix
import Testing

@testable import Hypervisor

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Builds: several writers on one store")
struct SharedStoreTests {
    /// Runs util-linux `flock -n PATH true`: whether another process can take the lock now.
    private func otherProcessCanLock(_ path: String, shared: Bool = false) async throws -> Bool {
        let result = try await SupervisedProcess.run(ProcessSpec("flock", (shared ? ["-s"] : []) + ["-n", path, "true"], timeout: .seconds(30)))
        return result.succeeded
    }

    @Test("a FileLock excludes another process until released; shared locks coexist", .enabled(if: Tool.exists("flock")))
    func fileLock() async throws {
        let scratch = try Scratch("lock")
        let path = scratch.path("locks/k.lock").path
        var held: FileLock? = try await FileLock.acquire(path)
        #expect(try await !otherProcessCanLock(path))
        #expect(try FileLock.attempt(path) == nil, "another open file description in this process is refused too")
        held = nil
        #expect(try await otherProcessCanLock(path))
        held = try await FileLock.acquire(path, shared: true)
        #expect(try await otherProcessCanLock(path, shared: true))
        #expect(try await !otherProcessCanLock(path))
        held = nil

        // A waiter gets the lock as soon as the holder lets go, and a cancelled waiter stops.
        held = try await FileLock.acquire(path)
        let waiter = Task { try await FileLock.acquire(path) }
        try await Task.sleep(for: .milliseconds(200))
        held = nil
        held = try await waiter.value
        let cancelled = Task { try await FileLock.acquire(path) }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        held = nil
        _ = held
    }

    @Test("two builders on one store build a key once: the per-key lock is a single flight across them")
    func crossBuilderSingleFlight() async throws {
        let scratch = try Scratch("shared")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let counter = scratch.path("started")
        let spec = BuildSpec.fixture(
            repository, opt: .O0, bits: .amd64, counter: counter,
            command: "echo x >> '\(scratch.path("started").path)'; sleep 1; make BITS={bits} OPT='{opt}'")
        let store = scratch.path("store")
        let (one, two) = (Builder(store: store), Builder(store: store))
        async let a = one.build(spec)
        async let b = two.build(spec)
        let records = try await [a, b]
        #expect(startedCount(counter) == 1)
        #expect(records.allSatisfy { $0.status == .passed })
        #expect(records.filter(\.cacheHit).count == 1)
        #expect(records[0].directory == records[1].directory)
    }

    @Test("a rebuild never moves or removes the build another reader holds; the next lone start removes it")
    func rebuildKeepsReadersBuild() async throws {
        let scratch = try Scratch("shared")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let counter = scratch.path("started")
        let store = scratch.path("store")
        let spec = BuildSpec.fixture(repository, opt: .O0, bits: .amd64, counter: counter)
        var reader: Builder? = Builder(store: store)
        let held = try await reader!.build(spec)
        let heldFile = try #require(held.outputURL("prog"))
        let before = try Data(contentsOf: heldFile)

        var rebuilder: Builder? = Builder(store: store, options: BuilderOptions(rebuild: true))
        let rebuilt = try await rebuilder!.build(spec)
        #expect(startedCount(counter) == 2)
        #expect(rebuilt.directory != held.directory)
        #expect(try Data(contentsOf: heldFile) == before, "the reader's build is untouched")
        #expect(BuildCache(store: store).read(rebuilt.cacheKey)?.directory == rebuilt.directory)

        // While the reader lives, a new start leaves the replaced build alone.
        var third: Builder? = Builder(store: store)
        _ = try await third!.build(spec)
        #expect(FileManager.default.fileExists(atPath: heldFile.path))
        (reader, rebuilder, third) = (nil, nil, nil)
        _ = (reader, rebuilder, third)
        // Alone now: the replaced object goes, the current one stays. (A child forked by a
        // parallel test holds a copy of a lock until its exec: retry a moment.)
        for _ in 0..<40 where FileManager.default.fileExists(atPath: heldFile.path) {
            let last = try await Builder(store: store).build(spec)
            #expect(last.cacheHit && last.directory == rebuilt.directory)
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(!FileManager.default.fileExists(atPath: heldFile.path))
        let objects = try FileManager.default.contentsOfDirectory(atPath: store.appendingPathComponent("builds/.objects").path)
        #expect(objects == [rebuilt.directory!.lastPathComponent])
    }

    @Test("publishing a key that is already complete keeps the existing build and discards the new one")
    func publishKeepsExisting() async throws {
        let scratch = try Scratch("shared")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let store = scratch.path("store")
        let first = try await Builder(store: store).build(
            BuildSpec.fixture(repository, opt: .O0, bits: .amd64, counter: scratch.path("started")))
        let cache = BuildCache(store: store)
        let staging = try cache.makeStaging()
        let kept = try cache.publish(first, staging: staging, replace: false)
        #expect(kept.directory == first.directory && kept.cacheHit)
        #expect(!FileManager.default.fileExists(atPath: staging.path))
        let objects = try FileManager.default.contentsOfDirectory(atPath: cache.objects.path)
        #expect(objects.count == 1)
    }

    @Test("leftovers of dead processes are removed at the next start; a live process's are kept")
    func leftovers() async throws {
        let scratch = try Scratch("shared")
        let store = scratch.path("store")
        let fileManager = FileManager.default
        // A pid that is certainly dead: a child that has exited and been reaped.
        let dead = try await SupervisedProcess.run(ProcessSpec("true")).pid
        let live = getppid()
        let paths = [
            "builds/.tmp-\(dead)-aaaa", "builds/.tmp-\(live)-bbbb", "builds/.link-\(dead)-cccc",
            "worktrees/w-\(dead)-key-123456", "worktrees/w-\(live)-key-654321", "worktrees/keep-key-111111",
            "disks/tmp-\(dead)-0123456789abcdef-x", "disks/tmp-\(live)-0123456789abcdef-y",
        ]
        for path in paths { try fileManager.createDirectory(at: store.appendingPathComponent(path), withIntermediateDirectories: true) }
        try fileManager.createDirectory(at: store.appendingPathComponent("builds/.objects/orphan-1"), withIntermediateDirectories: true)

        // Another nestci uses the store (holds its use lock): only dead owners' leftovers go.
        var other: FileLock? = try await FileLock.acquire(store.appendingPathComponent("builds/.locks/store.lock").path, shared: true)
        var lock = await StoreLeftovers.claim(store: store)
        func exists(_ path: String) -> Bool { fileManager.fileExists(atPath: store.appendingPathComponent(path).path) }
        #expect(!exists("builds/.tmp-\(dead)-aaaa") && !exists("builds/.link-\(dead)-cccc"))
        #expect(!exists("worktrees/w-\(dead)-key-123456") && !exists("disks/tmp-\(dead)-0123456789abcdef-x"))
        #expect(exists("builds/.tmp-\(live)-bbbb") && exists("worktrees/w-\(live)-key-654321") && exists("disks/tmp-\(live)-0123456789abcdef-y"))
        #expect(exists("builds/.objects/orphan-1"), "an unreferenced build may still be read by the other process")
        #expect(exists("worktrees/keep-key-111111"))
        (other, lock) = (nil, nil)
        _ = (other, lock)

        // Alone: staging of any other process and unreferenced objects go; kept worktrees stay.
        // (A child forked by a parallel test holds a copy of a lock until its exec, so
        // being alone may take a moment to show.)
        for _ in 0..<40 where exists("builds/.tmp-\(live)-bbbb") {
            withExtendedLifetime(await StoreLeftovers.claim(store: store)) {}
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(!exists("builds/.tmp-\(live)-bbbb") && !exists("builds/.objects/orphan-1"))
        #expect(exists("worktrees/keep-key-111111"))
    }
}

@Suite("Builds and disks: a damaged cache entry is rebuilt, never reused")
struct CacheIntegrityTests {
    @Test("a cached build output with the same size but other bytes is rebuilt")
    func corruptedOutput() async throws {
        let scratch = try Scratch("integrity")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let counter = scratch.path("started")
        let store = scratch.path("store")
        let spec = BuildSpec.fixture(repository, opt: .O0, bits: .amd64, counter: counter)
        let first = try await Builder(store: store).build(spec)
        let output = try #require(first.outputURL("prog"))
        var bytes = try Data(contentsOf: output)
        bytes[bytes.count / 2] ^= 0xff
        try bytes.write(to: output)

        let second = try await Builder(store: store).build(spec)
        #expect(!second.cacheHit && startedCount(counter) == 2)
        let rebuilt = try #require(second.outputURL("prog"))
        #expect(try FileDigest.sha256(path: rebuilt.path)?.hex == second.outputs[0].sha256)
        let third = try await Builder(store: store).build(spec)
        #expect(third.cacheHit && startedCount(counter) == 2)
    }

    @Test("a truncated cached disk is rebuilt instead of booted", .enabled(if: GrubTools.available))
    func truncatedDisk() async throws {
        let scratch = try Scratch("integrity")
        let kernel = scratch.path("kernel.bin").path
        try Data(repeating: 1, count: 100_000).write(to: URL(fileURLWithPath: kernel))
        let config = try GrubConfig(kernel: "kernel.bin", handover: .none, diskIndex: 0).render()
        let spec = GrubDiskSpec(files: ["kernel.bin": kernel], grubConfig: config, diskIndex: 0)
        let builder = GrubDiskBuilder(store: scratch.path("store").path)
        let disk = try await builder.build(spec)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: disk.path)[.size] as? Int)
        #expect(try await builder.build(spec).reused)

        #expect(truncate(disk.path, off_t(size / 3)) == 0)
        let again = try await builder.build(spec)
        #expect(!again.reused && again.path == disk.path)
        #expect(try FileManager.default.attributesOfItem(atPath: again.path)[.size] as? Int == size)
        #expect(try await builder.build(spec).reused)

        // An image without its record (an older nestci's, or cut short) is not trusted either.
        try FileManager.default.removeItem(atPath: GrubDiskBuilder.recordPath(disk.path))
        #expect(try await !builder.build(spec).reused)
    }
}

