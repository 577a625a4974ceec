import Foundation
import Matrix
import Testing

@testable import CIRunner

extension StoreFixture {
    static let day: TimeInterval = 86_400
    /// "Now" for retention tests: 2025-06-01 00:00 UTC.
    static let retentionNow = Date(timeIntervalSince1970: 1_748_736_000)

    /// A run of `matrix` started `daysAgo` before ``retentionNow``, filled the way the
    /// scheduler fills it: cells rev (good, main) × opt (O0, O2, O3) × `bits`, each with a
    /// serial log, vmcs.json, reproduce.sh and a build log. Cells named `rev/opt` in
    /// `failing` fail. Finished unless `finish` is false (then it stays `running`).
    @discardableResult
    func writeDatedRun(
        matrix: String = "demo", daysAgo: Double, bits: [String] = ["i386"], failing: Set<String> = [], finish: Bool = true
    ) async throws -> String {
        let started = Self.retentionNow.addingTimeInterval(-daysAgo * Self.day)
        let runID = ArtifactStore.newRunID(now: started)
        var results: [CellResult] = []
        for rev in ["good", "main"] {
            for bits in bits {
                for opt in ["O0", "O2", "O3"] {
                    let fails = failing.contains("\(rev)/\(opt)")
                    let values = ["chain": "minivisor", "rev": rev, "opt": opt, "bits": bits, "smp": "1", "backend": "bochs"]
                    results.append(
                        SyntheticCell.result(
                            values: values, outcome: fails ? .fail : .pass,
                            reason: fails ? "CPU(0x00): VMLAUNCH error: VM-instruction error 7" : "minivisor: all 20 rounds passed",
                            line: fails ? 9 : 40, commits: ["minivisor": rev == "good" ? Self.goodCommit : Self.newMainCommit]))
                }
            }
        }
        try await store.beginRun(
            id: runID, matrix: matrix, matrixPath: "/demo/\(matrix).json", trigger: "nightly", hostJSON: "{}",
            cellIDs: results.map(\.cellID), started: started)
        for result in results {
            try writeCellFiles(runID: runID, result: result)
            let folder = store.layout.cell(runID, result.cellID)
            try AtomicFile.write("gcc -O2 -m32 -c vmx.c\n", to: "\(folder)/\(RunLayout.buildLog(level: 0, component: "minivisor"))")
            try await store.recordCell(runID: runID, result: result)
        }
        if finish {
            try await store.finishRun(
                id: runID,
                results: RunResults(runID: runID, matrix: matrix, started: started, finished: started.addingTimeInterval(600), cells: results))
        }
        return runID
    }

    /// The files left in a run's cell folders.
    func cellFiles(_ runID: String) throws -> Set<String> {
        let folder = store.layout.run(runID)
        var names = Set<String>()
        for cell in try FileManager.default.contentsOfDirectory(atPath: folder) where StoreFiles.isDirectory("\(folder)/\(cell)") {
            names.formUnion(try FileManager.default.contentsOfDirectory(atPath: "\(folder)/\(cell)"))
        }
        return names
    }

    /// Indexed bytes of a run.
    func indexedBytes(_ runID: String) async throws -> Int64 {
        Int64(try await store.artifacts(runID: runID).reduce(0) { $0 + $1.bytes })
    }
}

@Suite("Retention")
struct RetentionTests {
    let policy = RetentionPolicy(passingDays: 14, failingDays: 90, maxBytes: 1 << 40)

    @Test("by age: passing runs go after 14 days, failing ones after 90; results, findings and rows stay")
    func byAge() async throws {
        let fixture = try StoreFixture()
        let oldFailing = try await fixture.writeDatedRun(daysAgo: 100, failing: ["main/O3"])
        let failing = try await fixture.writeDatedRun(daysAgo: 30, failing: ["main/O3"])
        let oldPassing = try await fixture.writeDatedRun(daysAgo: 20)
        let passing = try await fixture.writeDatedRun(daysAgo: 10)
        let newest = try await fixture.writeDatedRun(daysAgo: 1)
        let cellsBefore = try await fixture.store.cells(runID: oldFailing)
        let findingsBefore = try await fixture.store.findings(runID: oldFailing)
        let freed = try await fixture.indexedBytes(oldFailing) + fixture.indexedBytes(oldPassing)

        let report = try await fixture.store.prune(policy: policy, now: StoreFixture.retentionNow)
        #expect(report.pruned.map(\.runID) == [oldFailing, oldPassing])
        #expect(report.pruned.allSatisfy { $0.reason == .age })
        #expect(!report.overCap)

        for runID in [oldFailing, oldPassing] {
            #expect(try fixture.cellFiles(runID) == [RunLayout.resultFile])
            for file in [RunLayout.runFile, RunLayout.resultsFile, RunLayout.findingsFile] {
                #expect(StoreFiles.isRegularFile("\(fixture.store.layout.run(runID))/\(file)"))
            }
            let pruning = try #require(try await fixture.store.pruning(runID: runID))
            #expect(pruning.date == StoreFixture.retentionNow && pruning.complete)
            let kinds = Set(try await fixture.store.artifacts(runID: runID).map(\.kind))
            #expect(kinds == ["result", "run", "results", "findings"])
        }
        // What was freed is what the index had for the removed files (result.json and the run's files stay).
        let kept = try await fixture.indexedBytes(oldFailing) + fixture.indexedBytes(oldPassing)
        #expect(report.bytesFreed == freed - kept)
        for runID in [failing, passing, newest] {
            #expect(try await fixture.store.isPruned(runID) == false)
            #expect(try fixture.cellFiles(runID).contains(RunLayout.serialLog))
        }
        // History, grids and findings still read.
        #expect(try await fixture.store.cells(runID: oldFailing) == cellsBefore)
        #expect(try await fixture.store.findings(runID: oldFailing) == findingsBefore)
        let history = try await fixture.store.history(matrix: "demo", cellID: cellsBefore[0].cellID)
        #expect(history.count == 5)
        try await fixture.checkConsistent()
    }

    @Test("a second prune with the same clock does nothing")
    func secondPruneIsNoOp() async throws {
        let fixture = try StoreFixture()
        try await fixture.writeDatedRun(daysAgo: 40)
        try await fixture.writeDatedRun(daysAgo: 30)
        try await fixture.writeDatedRun(daysAgo: 1)
        let first = try await fixture.store.prune(policy: policy, now: StoreFixture.retentionNow)
        #expect(first.pruned.count == 2)
        let second = try await fixture.store.prune(policy: policy, now: StoreFixture.retentionNow)
        #expect(second.isEmpty && second.bytesFreed == 0)
        #expect(second.remainingBytes == first.remainingBytes)
    }

    @Test("by bytes: the oldest runs go until the runs not pruned fit under maxBytes")
    func byByteCap() async throws {
        let fixture = try StoreFixture()
        var runs: [String] = []
        for daysAgo in [5.0, 4, 3, 2, 1] { runs.append(try await fixture.writeDatedRun(daysAgo: daysAgo)) }
        var sizes: [Int64] = []
        for run in runs { sizes.append(try await fixture.indexedBytes(run)) }
        let total = sizes.reduce(0, +)
        // Room for all but the two oldest.
        let cap = total - sizes[0] - sizes[1]
        let report = try await fixture.store.prune(
            policy: RetentionPolicy(passingDays: 14, failingDays: 90, maxBytes: cap), now: StoreFixture.retentionNow)
        #expect(report.pruned.map(\.runID) == Array(runs.prefix(2)))
        #expect(report.pruned.allSatisfy { $0.reason == .size })
        #expect(report.remainingBytes == cap && !report.overCap)
        #expect(try fixture.cellFiles(runs[2]).contains(RunLayout.serialLog))
        try await fixture.checkConsistent()
    }

    @Test("attempt folders count toward the byte cap and go with their run; a capture linked as serial.log counts once")
    func attemptFolders() async throws {
        let fixture = try StoreFixture()
        var runs: [String] = []
        for daysAgo in [3.0, 2, 1] { runs.append(try await fixture.writeDatedRun(daysAgo: daysAgo)) }
        let attempt = Data(repeating: 0x41, count: 1 << 20)
        for run in runs {
            for cell in try await fixture.store.cells(runID: run) {
                let folder = fixture.store.layout.cell(run, cell.cellID)
                try FileManager.default.createDirectory(atPath: "\(folder)/attempt-1", withIntermediateDirectories: true)
                try attempt.write(to: URL(fileURLWithPath: "\(folder)/attempt-1/serial.txt"))
                try "ata0-master: type=disk\n".write(toFile: "\(folder)/attempt-1/bochsrc", atomically: true, encoding: .utf8)
                // The last attempt's capture is the cell's serial log, as CellEvidence links it.
                try FileManager.default.createDirectory(atPath: "\(folder)/attempt-2", withIntermediateDirectories: true)
                unlink("\(folder)/attempt-2/serial.txt")
                #expect(link("\(folder)/\(RunLayout.serialLog)", "\(folder)/attempt-2/serial.txt") == 0)
            }
        }
        let cells = try await fixture.store.cells(runID: runs[0]).count
        let indexed = try await fixture.indexedBytes(runs[2])
        // Per run, its attempt folders: a 1 MiB capture and a 23-byte bochsrc per cell (the
        // linked capture is serial.log's, indexed). Indexed bytes alone fit under this cap;
        // with the attempt folders only the newest two runs do.
        let attempts = Int64(cells) * (Int64(attempt.count) + 23)
        let cap = 2 * indexed + 2 * attempts
        let report = try await fixture.store.prune(
            policy: RetentionPolicy(passingDays: 14, failingDays: 90, maxBytes: cap), now: StoreFixture.retentionNow)
        #expect(report.pruned.map(\.runID) == [runs[0]], "attempt folders are counted: \(report)")
        #expect(report.remainingBytes == cap && !report.overCap)
        #expect(report.pruned.first?.bytes ?? 0 > attempts, "the freed bytes include the attempts")
        let pruned = try fixture.cellFiles(runs[0])
        #expect(pruned == [RunLayout.resultFile], "attempt folders go with the run: \(pruned)")
        #expect(try fixture.cellFiles(runs[1]).contains("attempt-1"))
        try await fixture.checkConsistent()
    }

    @Test("the newest run of each matrix, and its newest finished run, are never pruned")
    func newestPerMatrixKept() async throws {
        let fixture = try StoreFixture()
        let demoOld = try await fixture.writeDatedRun(matrix: "demo", daysAgo: 300)
        let demoNewest = try await fixture.writeDatedRun(matrix: "demo", daysAgo: 200)
        let nightlyOld = try await fixture.writeDatedRun(matrix: "nightly", daysAgo: 250, failing: ["main/O3"])
        let nightlyNewest = try await fixture.writeDatedRun(matrix: "nightly", daysAgo: 150, failing: ["main/O3"])
        let report = try await fixture.store.prune(
            policy: RetentionPolicy(passingDays: 1, failingDays: 1, maxBytes: 1), now: StoreFixture.retentionNow)
        #expect(Set(report.pruned.map(\.runID)) == [demoOld, nightlyOld])
        #expect(report.overCap, "only protected runs are left and they exceed 1 byte")
        for run in [demoNewest, nightlyNewest] {
            #expect(try await fixture.store.isPruned(run) == false)
            #expect(try fixture.cellFiles(run).contains(RunLayout.vmcsFile))
        }
    }

    @Test("a running run is never pruned, and the finished run before it stays as its baseline")
    func runningKept() async throws {
        let fixture = try StoreFixture()
        let oldest = try await fixture.writeDatedRun(daysAgo: 400)
        let baseline = try await fixture.writeDatedRun(daysAgo: 300)
        let running = try await fixture.writeDatedRun(daysAgo: 200, finish: false)
        #expect(try await fixture.store.run(running)?.status == .running)
        let report = try await fixture.store.prune(
            policy: RetentionPolicy(passingDays: 1, failingDays: 1, maxBytes: 1), now: StoreFixture.retentionNow)
        #expect(report.pruned.map(\.runID) == [oldest])
        #expect(try fixture.cellFiles(running).contains(RunLayout.serialLog))
        #expect(try fixture.cellFiles(baseline).contains(RunLayout.serialLog))
    }

    @Test("a prune cut short after marking reads as pruned and is finished by the next call")
    func crashMidway() async throws {
        let fixture = try StoreFixture()
        let old = try await fixture.writeDatedRun(daysAgo: 60)
        try await fixture.writeDatedRun(daysAgo: 1)
        // The first step alone, as if the process died before removing any file.
        let bytes = try await fixture.store.markPruning(old, now: StoreFixture.retentionNow)
        #expect(bytes > 0)
        let marked = try #require(try await fixture.store.pruning(runID: old))
        #expect(!marked.complete)
        #expect(try fixture.cellFiles(old).contains(RunLayout.serialLog), "files are still there")
        try await fixture.checkConsistent()  // the index no longer points at them

        let later = StoreFixture.retentionNow.addingTimeInterval(60)
        let report = try await fixture.store.prune(policy: policy, now: later)
        #expect(report.pruned == [.init(runID: old, matrix: "demo", reason: .resumed, bytes: bytes)])
        #expect(try fixture.cellFiles(old) == [RunLayout.resultFile])
        let done = try #require(try await fixture.store.pruning(runID: old))
        #expect(done.complete && done.date == StoreFixture.retentionNow && done.bytes == bytes)
        #expect(try await fixture.store.prune(policy: policy, now: later).isEmpty)
    }

    @Test("fetch and show on a pruned run say when its artifacts were pruned")
    func fetchAndShow() async throws {
        let fixture = try StoreFixture()
        let old = try await fixture.writeDatedRun(daysAgo: 30, failing: ["main/O3"])
        try await fixture.writeDatedRun(daysAgo: 1, failing: ["main/O3"])
        try await fixture.store.prune(policy: RetentionPolicy(passingDays: 14, failingDays: 20), now: StoreFixture.retentionNow)
        let cell = try #require(try await fixture.store.cells(runID: old).first { $0.outcome == .fail })

        let show = await fixture.nestci(["show", old])
        #expect(show.out.contains("artifacts pruned on 2025-06-01 00:00:00 UTC"), "\(show.out)")
        #expect(!show.out.contains("nestci fetch"))
        for reference in [old, "\(old)/\(cell.cellID)"] {
            let fetch = await fixture.nestci(["fetch", reference, "--to", fixture.directory.path("fetched")])
            #expect(fetch.status == 1)
            #expect(fetch.err.contains("artifacts pruned on 2025-06-01 00:00:00 UTC"), "\(fetch.err)")
            #expect(fetch.err.contains("nestci show \(old)"))
        }
        #expect(!FileManager.default.fileExists(atPath: fixture.directory.path("fetched")))
    }

    @Test("the maximum age depends on whether every cell passed")
    func fromServiceConfig() {
        let policy = RetentionPolicy(passingDays: 7, failingDays: 30, maxBytes: 5 << 30)
        #expect(policy.maximumAge(allAcceptable: true) == 7 * 86_400)
        #expect(policy.maximumAge(allAcceptable: false) == 30 * 86_400)
    }
}
