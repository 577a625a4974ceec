import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

@Suite("Branch poller")
struct BranchPollerTests {
    static let t0 = Date(timeIntervalSince1970: 1_795_573_800)
    static let a = String(repeating: "a", count: 40), b = String(repeating: "b", count: 40), c = String(repeating: "c", count: 40)

    @Test("first sight is the baseline; a move triggers once, after it stayed still for the debounce")
    func debounce() {
        var state = BranchWatchState(matrix: "xmhf64-nightly", debounce: 120)
        #expect(state.observe(branch: "xmhf64", commit: Self.a, at: Self.t0) == .none)
        #expect(state.observe(branch: "xmhf64", commit: Self.a, at: Self.t0 + 300) == .none)
        #expect(state.observe(branch: "xmhf64", commit: Self.b, at: Self.t0 + 600) == .none)  // moved: wait
        #expect(state.observe(branch: "xmhf64", commit: Self.b, at: Self.t0 + 700) == .none)  // 100 s still: wait
        #expect(
            state.observe(branch: "xmhf64", commit: Self.b, at: Self.t0 + 720)
                == .trigger(matrix: "xmhf64-nightly", reason: "branch xmhf64 moved aaaaaaa → bbbbbbb", commits: ["xmhf64": Self.b]))
        #expect(state.observe(branch: "xmhf64", commit: Self.b, at: Self.t0 + 1000) == .none)  // never twice
        #expect(state.baseline(of: "xmhf64") == Self.b)
    }

    @Test("a push during the wait restarts it; a series of pushes gives one run")
    func pushesDuringWait() {
        var state = BranchWatchState(matrix: "m", debounce: 120)
        _ = state.observe(branch: "xmhf64", commit: Self.a, at: Self.t0)
        #expect(state.observe(branch: "xmhf64", commit: Self.b, at: Self.t0 + 60) == .none)
        #expect(state.observe(branch: "xmhf64", commit: Self.c, at: Self.t0 + 150) == .none)
        #expect(state.observe(branch: "xmhf64", commit: Self.c, at: Self.t0 + 240) == .none)  // 90 s since c
        guard case .trigger(_, let reason, let commits) = state.observe(branch: "xmhf64", commit: Self.c, at: Self.t0 + 270) else {
            Issue.record("expected a trigger")
            return
        }
        #expect(reason == "branch xmhf64 moved aaaaaaa → ccccccc")
        #expect(commits == ["xmhf64": Self.c])
    }

    @Test("a branch back at a commit already run stays quiet; two branches settling give one trigger")
    func resetAndTwoBranches() {
        var state = BranchWatchState(matrix: "m", debounce: 0)
        _ = state.observe([.init(branch: "xmhf64", commit: Self.a), .init(branch: "lhv", commit: Self.a)], at: Self.t0)
        #expect(state.observe(branch: "xmhf64", commit: Self.b, at: Self.t0 + 1) != .none)
        // Reset to the first-sight commit: that one never ran from here, so it runs.
        #expect(state.observe(branch: "xmhf64", commit: Self.a, at: Self.t0 + 2) != .none)
        #expect(state.observe(branch: "xmhf64", commit: Self.b, at: Self.t0 + 3) == .none)  // b already ran
        #expect(state.observe(branch: "xmhf64", commit: Self.a, at: Self.t0 + 4) == .none)  // and so did a now
        #expect(state.observe(branch: "xmhf64", commit: Self.c, at: Self.t0 + 5) == .trigger(matrix: "m", reason: "branch xmhf64 moved aaaaaaa → ccccccc", commits: ["xmhf64": Self.c]))

        var two = BranchWatchState(matrix: "m", debounce: 60)
        _ = two.observe([.init(branch: "xmhf64", commit: Self.a), .init(branch: "lhv", commit: Self.a)], at: Self.t0)
        #expect(two.observe([.init(branch: "xmhf64", commit: Self.b), .init(branch: "lhv", commit: Self.a)], at: Self.t0 + 10) == .none)
        #expect(two.observe([.init(branch: "xmhf64", commit: Self.b), .init(branch: "lhv", commit: Self.c)], at: Self.t0 + 40) == .none)
        // xmhf64 settled at +70 but lhv is still pending: wait for it.
        #expect(two.observe([.init(branch: "xmhf64", commit: Self.b), .init(branch: "lhv", commit: Self.c)], at: Self.t0 + 70) == .none)
        let action = two.observe([.init(branch: "xmhf64", commit: Self.b), .init(branch: "lhv", commit: Self.c)], at: Self.t0 + 100)
        #expect(action == .trigger(matrix: "m", reason: "branch lhv moved aaaaaaa → ccccccc; branch xmhf64 moved aaaaaaa → bbbbbbb", commits: ["lhv": Self.c, "xmhf64": Self.b]))
    }

    @Test("the state survives a restart as JSON")
    func codable() throws {
        var state = BranchWatchState(matrix: "m", debounce: 60)
        _ = state.observe(branch: "x", commit: Self.a, at: Self.t0)
        _ = state.observe(branch: "x", commit: Self.b, at: Self.t0 + 1)
        var restored = try JSONDecoder().decode(BranchWatchState.self, from: JSONEncoder().encode(state))
        #expect(restored == state)
        #expect(restored.observe(branch: "x", commit: Self.b, at: Self.t0 + 61) != .none)
    }

    @Test("ls-remote output: a branch wins over a tag, a peeled tag over the tag object")
    func parse() {
        let output = """
            \(Self.a)\trefs/heads/xmhf64
            \(Self.b)\trefs/tags/xmhf64
            \(Self.b)\trefs/tags/v1
            \(Self.c)\trefs/tags/v1^{}
            warning: redirecting to https://example.org/x.git/
            """
        #expect(BranchPoller.parseLsRemote(output, branches: ["xmhf64", "v1", "gone"]) == ["xmhf64": Self.a, "v1": Self.c])
    }

    @Test("the branches a matrix builds from: templated revisions expanded, commit ids left out")
    func branchesOfMatrix() throws {
        let demo = try MatrixFile.load(path: DashboardFixture.root.appendingPathComponent("examples/demo.json").path)
        let branches = try BranchPoller.branches(of: demo)
        #expect(Set(branches.map(\.branch)) == ["good", "main"])
        #expect(branches.allSatisfy { $0.repository.hasSuffix("/examples/demo-repo") })
        let xmhf = try MatrixFile.load(path: DashboardFixture.root.appendingPathComponent("examples/xmhf64-nightly.json").path)
        #expect(try BranchPoller.branches(of: xmhf).map(\.name).sorted() == ["lhv", "xmhf64"])
    }

    static func git(_ arguments: [String], in folder: URL) async throws -> String {
        let result = try await SupervisedProcess.run(ProcessSpec(
            "git", arguments,
            environment: ["GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e", "GIT_CONFIG_GLOBAL": "/dev/null"],
            workingDirectory: folder.path, timeout: .seconds(30)))
        try #require(result.succeeded, "git \(arguments.joined(separator: " ")): \(result.output)")
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("a real repository: commit, poll, move the branch, poll after the debounce, trigger once")
    func realGit() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-poll-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        _ = try await Self.git(["init", "-q", "-b", "xmhf64"], in: folder)
        _ = try await Self.git(["commit", "-q", "--allow-empty", "-m", "one"], in: folder)
        let first = try await Self.git(["rev-parse", "HEAD"], in: folder)

        let (records, logger) = ServiceLoggerTests.capturing()
        let poller = BranchPoller(timeout: .seconds(30), logger: logger)
        let watched = [WatchedBranch(repository: folder.path, branch: "xmhf64"), WatchedBranch(repository: folder.path, branch: "nope")]
        var state = BranchWatchState(matrix: "xmhf64-nightly", debounce: 120)

        var poll = await poller.poll(watched)
        #expect(poll.failures.isEmpty)
        #expect(poll.observations == [BranchObservation(branch: "xmhf64", commit: first)])
        #expect(state.observe(poll.observations, at: Self.t0) == .none)
        #expect(records.lines.contains { $0.contains("branch not found on the remote") && $0.contains("branch=nope") })

        _ = try await Self.git(["commit", "-q", "--allow-empty", "-m", "two"], in: folder)
        let second = try await Self.git(["rev-parse", "HEAD"], in: folder)
        poll = await poller.poll(watched)
        #expect(state.observe(poll.observations, at: Self.t0 + 300) == .none)
        poll = await poller.poll(watched)
        let action = state.observe(poll.observations, at: Self.t0 + 420)
        #expect(action == .trigger(matrix: "xmhf64-nightly", reason: "branch xmhf64 moved \(first.prefix(7)) → \(second.prefix(7))", commits: ["xmhf64": second]))
        poll = await poller.poll(watched)
        #expect(state.observe(poll.observations, at: Self.t0 + 900) == .none)
    }

    @Test("an unreachable repository is a failure with advice, not a throw")
    func unreachable() async {
        let poller = BranchPoller(timeout: .seconds(20))
        let poll = await poller.poll([WatchedBranch(repository: "/nonexistent/repo.git", branch: "main")])
        #expect(poll.observations.isEmpty)
        #expect(poll.failures.first?.description.contains("check the URL") == true)
    }
}
