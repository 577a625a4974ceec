import Foundation
import Testing

@testable import Hypervisor

@Suite("Sources: mirrors, revisions, worktrees")
struct GitSourceTests {
    /// main: c1 (tag v1) → c2; feature: c1 → c3.
    private func history(_ scratch: Scratch) async throws -> (TestRepository, c1: String, c2: String, c3: String) {
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let c1 = try await repository.git("rev-parse", "HEAD")
        let c2 = try await repository.commit(file: "NOTES", "second\n", message: "c2")
        try await repository.git("checkout", "-q", "-b", "feature", c1)
        let c3 = try await repository.commit(file: "FEATURE", "feature\n", message: "c3")
        try await repository.git("checkout", "-q", "main")
        return (repository, c1, c2, c3)
    }

    @Test("a branch, a tag, a full and a short commit id each resolve to their commit")
    func resolvesBranchTagAndCommit() async throws {
        let scratch = try Scratch("git")
        let (repository, c1, c2, c3) = try await history(scratch)
        let resolver = RevisionResolver(store: scratch.path("store"))
        let expected = ["main": c2, "feature": c3, "v1": c1, c1: c1, String(c2.prefix(8)): c2]
        for (revision, commit) in expected {
            let resolved = try await resolver.resolve(repository: repository.path, revision: revision)
            #expect(resolved.commit == commit, "\(revision)")
            #expect(resolved.revision == revision)
        }
        // The mirror is a bare clone named after the repository.
        let mirror = resolver.mirror(for: repository.path)
        #expect(mirror.path.lastPathComponent.hasPrefix("project-"))
        #expect(mirror.path.lastPathComponent.hasSuffix(".git"))
        #expect(FileManager.default.fileExists(atPath: mirror.path.appendingPathComponent("HEAD").path))
    }

    @Test("a run keeps the commit it resolved; the next run sees the moved branch")
    func branchMovesBetweenRuns() async throws {
        let scratch = try Scratch("git")
        let (repository, _, c2, _) = try await history(scratch)
        let store = scratch.path("store")
        let run1 = RevisionResolver(store: store)
        #expect(try await run1.resolve(repository: repository.path, revision: "main").commit == c2)
        let c4 = try await repository.commit(file: "NOTES", "moved\n", message: "c4")
        #expect(try await run1.resolve(repository: repository.path, revision: "main").commit == c2)
        let run2 = RevisionResolver(store: store)
        #expect(try await run2.resolve(repository: repository.path, revision: "main").commit == c4)
    }

    @Test("concurrent cells of a run share one fetch and one answer")
    func concurrentResolution() async throws {
        let scratch = try Scratch("git")
        let (repository, _, c2, _) = try await history(scratch)
        let resolver = RevisionResolver(store: scratch.path("store"))
        let commits = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask { try await resolver.resolve(repository: repository.path, revision: "main").commit }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(commits == [c2])
    }

    @Test("two runs at once fetch the same mirror one after the other, not over each other")
    func concurrentRuns() async throws {
        let scratch = try Scratch("git")
        let (repository, _, c2, _) = try await history(scratch)
        let store = scratch.path("store")
        _ = try await RevisionResolver(store: store).resolve(repository: repository.path, revision: "main")
        let commits = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await RevisionResolver(store: store).resolve(repository: repository.path, revision: "main").commit
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(commits == [c2])
    }

    @Test("an unknown revision names the repository and its branches")
    func unknownRevision() async throws {
        let scratch = try Scratch("git")
        let (repository, _, _, _) = try await history(scratch)
        let resolver = RevisionResolver(store: scratch.path("store"))
        let error = await #expect(throws: SourceError.self) {
            try await resolver.resolve(repository: repository.path, revision: "foo")
        }
        #expect(error?.code == .unknownRevision)
        #expect(error?.message.hasPrefix("revision 'foo' not found in \(repository.path) (branches: feature, main)") == true)
        let dash = await #expect(throws: SourceError.self) {
            try await resolver.resolve(repository: repository.path, revision: "--all")
        }
        #expect(dash?.code == .unknownRevision)
    }

    @Test("an unreachable repository says which and what git said")
    func unreachableRepository() async throws {
        let scratch = try Scratch("git")
        let missing = scratch.path("no-such-repo").path
        let resolver = RevisionResolver(store: scratch.path("store"))
        let error = await #expect(throws: SourceError.self) {
            try await resolver.resolve(repository: missing, revision: "main")
        }
        #expect(error?.code == .unreachableRepository)
        #expect(error?.message.contains("cannot clone \(missing)") == true)
        #expect(error?.message.contains("git said:") == true)
        #expect(error?.message.contains("does not exist") == true, "git's own words: \(error?.message ?? "")")
        // No half-made mirror is left to be mistaken for a clone.
        let mirrors = (try? FileManager.default.contentsOfDirectory(atPath: scratch.path("store/mirrors").path)) ?? []
        #expect(mirrors.isEmpty)
    }

    @Test("a local path named two ways is one mirror; URLs keep their form")
    func mirrorNaming() throws {
        let store = URL(fileURLWithPath: "/srv/store")
        let plain = Mirror(repository: "/repos/xmhf64", store: store)
        let spelled = Mirror(repository: "/repos/./other/../xmhf64/", store: store)
        #expect(plain.path == spelled.path)
        #expect(plain.path.path.hasPrefix("/srv/store/mirrors/xmhf64-"))
        let url = Mirror(repository: "https://github.com/lxylxy123456/uberxmhf.git", store: store)
        #expect(url.remote == "https://github.com/lxylxy123456/uberxmhf.git")
        #expect(url.path.lastPathComponent.hasPrefix("uberxmhf-"))
        let scp = Mirror(repository: "git@github.com:a/b c.git", store: store)
        #expect(scp.remote == "git@github.com:a/b c.git")
        #expect(scp.path.lastPathComponent.hasPrefix("b_c-"))
    }

    @Test("many builds adding and removing worktrees of one mirror at once do not trip over each other")
    func concurrentWorktrees() async throws {
        let scratch = try Scratch("git")
        let (repository, c1, c2, _) = try await history(scratch)
        let mirror = try await RevisionResolver(store: scratch.path("store")).update(repository: repository.path)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<6 {
                group.addTask {
                    for round in 0..<2 {
                        let commit = (index + round) % 2 == 0 ? c1 : c2
                        let worktree = try await Worktree.add(
                            mirror: mirror, commit: commit, at: scratch.path("wt/\(index)-\(round)"))
                        #expect(FileManager.default.fileExists(atPath: worktree.path.appendingPathComponent("Makefile").path))
                        await worktree.remove()
                    }
                }
            }
            try await group.waitForAll()
        }
        let list = try await TestRepository(url: mirror.path).git("worktree", "list")
        #expect(list.split(separator: "\n").count == 1, "every worktree forgotten: \(list)")
    }

    @Test("a worktree is a real checkout (git describe works) and is removed cleanly")
    func worktreeLifecycle() async throws {
        let scratch = try Scratch("git")
        let (repository, c1, _, _) = try await history(scratch)
        let resolver = RevisionResolver(store: scratch.path("store"))
        let mirror = try await resolver.update(repository: repository.path)
        let worktree = try await Worktree.add(mirror: mirror, commit: c1, at: scratch.path("wt/one"))
        let checkout = TestRepository(url: worktree.path)
        #expect(try await checkout.git("describe", "--tags") == "v1")
        #expect(try await checkout.git("rev-parse", "HEAD") == c1)
        #expect(FileManager.default.fileExists(atPath: worktree.path.appendingPathComponent("Makefile").path))
        await worktree.remove()
        #expect(!FileManager.default.fileExists(atPath: worktree.path.path))
        let list = try await TestRepository(url: mirror.path).git("worktree", "list")
        #expect(list.split(separator: "\n").count == 1, "only the bare mirror itself: \(list)")
    }

    @Test("a worktree add killed before git set its HEAD does not stop the next fetch; live worktrees stay")
    func killedWorktreeAddIsForgotten() async throws {
        let scratch = try Scratch("git")
        let (repository, c1, _, _) = try await history(scratch)
        let store = scratch.path("store")
        let mirror = try await RevisionResolver(store: store).update(repository: repository.path)
        let healthy = try await Worktree.add(mirror: mirror, commit: c1, at: scratch.path("wt/healthy"))
        let broken = try await Worktree.add(mirror: mirror, commit: c1, at: scratch.path("wt/broken"))
        // What a SIGKILL between git's placeholder HEAD and the checkout leaves (seen in CI:
        // "fatal: bad object worktrees/w-…/HEAD" from the next nestci's fetch), old enough
        // not to be another process's add in progress.
        let admin = mirror.path.appendingPathComponent("worktrees/broken")
        let head = admin.appendingPathComponent("HEAD").path
        try (String(repeating: "0", count: 40) + "\n").write(toFile: head, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-60)], ofItemAtPath: head)
        let moved = try await repository.commit(file: "NOTES", "after the kill\n", message: "c4")

        let resolved = try await RevisionResolver(store: store).resolve(repository: repository.path, revision: "main")
        #expect(resolved.commit == moved, "the fetch went through and saw the new commit")
        #expect(!FileManager.default.fileExists(atPath: admin.path), "git's record of the broken worktree is gone")
        #expect(FileManager.default.fileExists(atPath: mirror.path.appendingPathComponent("worktrees/healthy/HEAD").path))
        #expect(try await TestRepository(url: healthy.path).git("rev-parse", "HEAD") == c1, "the healthy worktree still works")
        await healthy.remove()
        try? FileManager.default.removeItem(at: broken.path)
    }
}
