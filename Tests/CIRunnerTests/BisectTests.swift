import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

extension RealBootSuite {
    /// Bisection on a fixture-kernel history in a temp git repository: real builds, GRUB
    /// disks and qemu-tcg boots.
    @Suite("Bisect: a fixture-kernel history with a merge, a broken commit and another failure", .serialized,
        .enabled(if: RealBootTools.qemu && RealBootFixtures.available, RealBootTools.qemuReason))
    struct BisectTests {
        struct History {
            var fixture: BisectFixture
            var goodRun: String
            var badRun: String
            var cellID: String
            var commits: [String: String]
        }

        /// Run 1 at the good commit (passes); then main gets:
        /// c1 good, side branch s1 (good) from c1, c2 broken, c3 good, merge m1 (side into
        /// main), c4 the regression, c5 another failure, c6 bad, c7 bad; run 2 fails.
        static func history() async throws -> History {
            let fixture = try await BisectFixture.make(in: RealBootRun.folder("bisect"))
            let options = RunOptions(store: fixture.store, slots: 1, infraRetries: 1)
            let plan = try MatrixFile.load(path: fixture.matrix).plan()
            let first = try await RunScheduler(options: options).run(plan, matrixPath: fixture.matrix)
            try #require(first.results.cells.map(\.outcome) == [.pass], "\(first.results.cells.map(\.reason))")
            var commits: [String: String] = [:]
            commits["good"] = try await fixture.git("rev-parse", "HEAD")
            commits["c1"] = try await fixture.commit("c1: harmless", behaviour: .good)
            try await fixture.git("checkout", "-q", "-b", "side")
            try "side\n".write(toFile: "\(fixture.repository)/SIDE", atomically: true, encoding: .utf8)
            commits["s1"] = try await fixture.commit("s1: a side branch's work", logged: false)
            try await fixture.git("checkout", "-q", "main")
            commits["c2"] = try await fixture.commit("c2: does not build", behaviour: .broken)
            commits["c3"] = try await fixture.commit("c3: builds again", behaviour: .good)
            try await fixture.git("-c", "user.name=nestci fixture", "-c", "user.email=fixture@nestci.invalid", "merge", "-q", "--no-ff", "-m", "m1: merge side", "side")
            commits["m1"] = try await fixture.git("rev-parse", "HEAD")
            commits["c4"] = try await fixture.commit("c4: the regression", behaviour: .bad)
            commits["c5"] = try await fixture.commit("c5: fails another way", behaviour: .otherFailure)
            commits["c6"] = try await fixture.commit("c6: still bad", behaviour: .bad)
            commits["c7"] = try await fixture.commit("c7: still bad", behaviour: .bad)
            let second = try await RunScheduler(options: options).run(plan, matrixPath: fixture.matrix)
            let failing = try #require(second.results.cells.first)
            try #require(failing.outcome == .fail, "\(failing.reason)")
            return History(fixture: fixture, goodRun: first.results.runID, badRun: second.results.runID, cellID: failing.cellID, commits: commits)
        }

        @Test("good from the last passing run, bad from RUN: names c4 over the DAG; steps recorded as cell results; asking again boots nothing")
        func bisectsTheHistory() async throws {
            let history = try await Self.history()
            defer { history.fixture.remove() }
            let store = try ArtifactStore(root: history.fixture.store)
            let options = RunOptions(store: history.fixture.store, slots: 1, infraRetries: 1)
            let lines = Mutex<[String]>([])
            let record = try await Bisector.run(BisectRequest(runID: history.badRun, cellID: history.cellID), store: store, options: options) { line in
                lines.withLock { $0.append(line) }
            }
            print("[realboot] \(record.resultLine)")
            #expect(record.status == .finished, "\(record.notes)")
            #expect(record.culprit?.commit == history.commits["c4"], "\(record.steps.map { "\($0.commit.prefix(7)) \($0.verdict)" }) \(lines.withLock { $0 })")
            #expect(record.culprit?.subject == "c4: the regression")
            #expect(record.culprit?.parents == [history.commits["m1"]!])
            #expect(record.good == history.commits["good"] && record.bad == history.commits["c7"])
            #expect(record.component == "fixture" && record.bootsPerStep == 1)
            #expect(record.resultLine.hasPrefix("first bad commit: fixture \(history.commits["c4"]!.prefix(9)) \"c4: the regression\""))
            #expect((record.confidence ?? 0) > 0.5)
            // Each visited commit counted as the issue says.
            let expected = ["c1": "good", "s1": "good", "c2": "skip", "c3": "good", "m1": "good", "c4": "bad", "c5": "skip", "c6": "bad", "c7": "bad"]
            let name = Dictionary(uniqueKeysWithValues: history.commits.map { ($1, $0) })
            for step in record.steps where step.purpose == .bisect {
                let which = try #require(name[step.commit])
                #expect(step.verdict == expected[which], "\(which): \(step.verdict) \(step.note ?? "")")
            }
            // Confirmation: the culprit and its parent, twice each.
            let confirm = record.steps.filter { $0.purpose == .confirm }
            #expect(confirm.map(\.commit) == [history.commits["c4"]!, history.commits["m1"]!])
            #expect(confirm.allSatisfy { $0.outcomes.count >= 2 })
            // Steps are ordinary cells of an investigation run, kept out of the matrix's history.
            let cells = try await store.cells(runID: record.investigationRunID)
            #expect(Set(record.steps.flatMap(\.cellIDs)).isSubset(of: Set(cells.map(\.cellID))))
            #expect(cells.count == record.boots)
            #expect(try await store.previousRun(matrix: "bisect-fixture", before: "29990101-000000-zzzz")?.id == history.badRun)
            #expect(try await store.bisects(runID: history.badRun).map(\.id) == [record.id])
            // The same bisect asked again is the recorded one.
            let again = try await Bisector.run(BisectRequest(runID: history.badRun, cellID: history.cellID), store: store, options: options)
            // (Compared as stored: the in-memory record's dates carry more precision than JSON.)
            #expect(again.id == record.id && again.steps == record.steps && again.boots == record.boots)
            #expect(again == (try await store.bisect(id: record.id)))
        }

        @Test("a step: the broken commit is skipped, the other failure is weak then skipped, the merge and the side commit are good")
        func classifiesSteps() async throws {
            let history = try await Self.history()
            defer { history.fixture.remove() }
            let store = try ArtifactStore(root: history.fixture.store)
            let options = RunOptions(store: history.fixture.store, slots: 1, infraRetries: 1)
            let failing = try #require(try await store.cell(runID: history.badRun, cellID: history.cellID))
            let signature = try #require(failing.signature)
            #expect(signature.outcome == .fail && signature.rule == "fail:xmhf-assert", "\(signature)")
            let cell = try #require(try MatrixFile.load(path: history.fixture.matrix).plan().cell(history.cellID))
            let runner = await AdHocRunner(options: options, store: store)
            let run = try await InvestigationRun.open(
                store: store, kind: "bisect", id: "classify", matrix: "bisect-fixture", matrixPath: history.fixture.matrix, hostJSON: runner.hostJSON)
            func step(_ name: String, boots: Int = 1) async throws -> AdHocStep {
                let commit = history.commits[name]!
                return try await runner.run(cell, variants: [0: BuildVariant(commit: commit)], boots: boots, in: run, label: String(commit.prefix(9)))
            }
            let broken = try await step("c2")
            #expect(broken.results.map(\.outcome) == [.buildFail])
            #expect(StepClassifier.classify(broken.results, original: signature).name == "skip")
            let other = try await step("c5")
            guard case .weak(let different) = StepClassifier.classify(other.results, original: signature) else {
                Issue.record("c5 should be weak: \(other.results.map(\.reason))")
                return
            }
            #expect(different != signature)
            let twice = try await step("c5", boots: 2)
            #expect(twice.reusedBoots == 1 && twice.boots == 1, "the first boot is reused, never repeated")
            #expect(StepClassifier.classify(Array(twice.results.dropFirst()), original: signature, secondTry: true).name == "skip")
            #expect(StepClassifier.classify(try await step("m1").results, original: signature) == .good)
            #expect(StepClassifier.classify(try await step("s1").results, original: signature) == .good)
            #expect(StepClassifier.classify(try await step("c6").results, original: signature) == .bad)
            #expect(StepClassifier.classify(try await step("c4").results, original: signature) == .bad)
        }
    
        @Test("cancelling the task stops the bisect: record cancelled, no emulator left; asking again finishes it")
        func cancel() async throws {
            let fixture = try await BisectFixture.make(in: RealBootRun.folder("bisect"))
            defer { fixture.remove() }
            for index in 1...6 { try await fixture.commit("commit \(index)", behaviour: index >= 4 ? .bad : .good) }
            let options = RunOptions(store: fixture.store, slots: 1, infraRetries: 1)
            let plan = try MatrixFile.load(path: fixture.matrix).plan()
            let run = try await RunScheduler(options: options).run(plan, matrixPath: fixture.matrix)
            let cellID = try #require(run.results.cells.first?.cellID)
            let store = try ArtifactStore(root: fixture.store)
            let request = BisectRequest(runID: run.results.runID, cellID: cellID, good: "good")
            let steps = Mutex(0)
            let task = Task { try await Bisector.run(request, store: store, options: options) { line in
                if line.hasPrefix("step ") { steps.withLock { $0 += 1 } }
            } }
            let deadline = Date().addingTimeInterval(240)
            while steps.withLock({ $0 }) < 1, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
            task.cancel()
            let cancelled = try await task.value
            #expect(cancelled.status == .cancelled, "\(cancelled.notes)")
            #expect(try await store.bisect(id: cancelled.id)?.status == .cancelled)
            #expect(RealBootRun.leftoverEmulators().isEmpty)
            let finished = try await Bisector.run(request, store: store, options: options)
            #expect(finished.status == .finished && finished.culprit?.subject == "commit 4", "\(finished.resultLine)")
        }
}
}
