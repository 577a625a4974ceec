import Foundation
import Matrix
import Testing

@testable import CIRunner

/// A published dashboard folder, read back the way a browser would follow it.
struct PublishedSite {
    let folder: String

    func text(_ relative: String) throws -> String { try String(contentsOfFile: "\(folder)/\(relative)", encoding: .utf8) }
    func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: "\(folder)/\(relative)") }

    /// Every HTML page, relative to the folder.
    func pages() -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: folder)
        var found: [String] = []
        while let next = enumerator?.nextObject() as? String { if next.hasSuffix(".html") { found.append(next) } }
        return found.sorted()
    }

    /// Each `href`/`src` that is absolute, leaves the folder or names no file, as `page: link`;
    /// and how many links were checked.
    func badLinks() throws -> (bad: [String], checked: Int) {
        let pattern = try NSRegularExpression(pattern: #"(?:href|src)="([^"]*)""#)
        let base = URL(fileURLWithPath: folder).standardizedFileURL.path
        var bad: [String] = [], checked = 0
        for page in pages() {
            let text = try text(page)
            let pageFolder = URL(fileURLWithPath: "\(folder)/\(page)").deletingLastPathComponent()
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let link = String(text[Range(match.range(at: 1), in: text)!])
                let path = String(link.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0])
                guard !path.isEmpty else { continue }
                checked += 1
                let target = URL(fileURLWithPath: path, relativeTo: pageFolder).standardizedFileURL.path
                if link.contains(":") || link.hasPrefix("/") || !target.hasPrefix(base + "/") || !FileManager.default.fileExists(atPath: target) {
                    bad.append("\(page): \(link)")
                }
            }
        }
        return (bad, checked)
    }
}

// Serialized: the timing test must not share the cores with the others.
@Suite("Dashboard publisher", .serialized)
struct DashboardPublisherTests {
    static func cellID(rev: String, opt: String) -> String { Cell.id(for: StoreFixture.values(rev: rev, opt: opt)) }

    func publish(_ fixture: StoreFixture) async throws -> PublishedSite {
        let folder = fixture.directory.path("dashboard")
        try await DashboardPublisher(store: fixture.store, folder: folder, title: "nestci · demo").publish()
        return PublishedSite(folder: folder)
    }

    @Test("two runs of the demo matrix: index, run and cell pages; the failing O3 cell shows its VMCS diff and serial log")
    func twoDemoRuns() async throws {
        let fixture = try StoreFixture()
        let findings = try await fixture.fillTwoRuns()
        #expect(findings.contains { $0.kind == .optOnly })
        let site = try await publish(fixture)
        let run = StoreFixture.currentRun

        let index = try site.text("index.html")
        #expect(index.range(of: run)!.lowerBound < index.range(of: StoreFixture.previousRun)!.lowerBound, "newest first")
        let runPage = try site.text("runs/\(run)/index.html")
        #expect(runPage.contains("<li class=\"k-opt-only\">"))
        #expect(runPage.contains("minivisor i386 (rev=main): passes at O0, fails at O2, O3"))
        #expect(runPage.contains("<li class=\"k-regression\">"))
        #expect(runPage.contains("<table class=\"grid\">"))

        let o3 = Self.cellID(rev: "main", opt: "O3"), o0 = Self.cellID(rev: "main", opt: "O0")
        let cellPage = try site.text("runs/\(run)/\(o3)/index.html")
        #expect(cellPage.contains("VMCS diff against -O0 (<a href=\"../\(o0)/index.html\""))
        let diff = try #require(cellPage.range(of: "VMCS diff against -O0").map { String(cellPage[$0.upperBound...]) })
        #expect(diff.contains("0x2800"), "the diff names the link pointer")
        #expect(cellPage.contains("<a href=\"serial.log\">"))
        #expect(site.exists("runs/\(run)/\(o3)/serial.log"))
        #expect(try site.text("runs/\(run)/\(o3)/serial.log").contains("VMCS01.guest_VMCS_link_pointer_full = 0x0000000000000000"))
        #expect(cellPage.contains("<a href=\"reproduce.sh\">") && site.exists("runs/\(run)/\(o3)/reproduce.sh"))
        // The O2 cell carries the finding's own diff.
        #expect(try site.text("runs/\(run)/\(Self.cellID(rev: "main", opt: "O2"))/index.html").contains("0x2800"))
        // History: both runs, the older one linked.
        #expect(cellPage.contains("<a href=\"../../\(StoreFixture.previousRun)/\(o3)/index.html\">"))

        let links = try site.badLinks()
        #expect(links.bad.isEmpty, "\(links.bad)")
        #expect(links.checked > 100)
    }

    @Test("evidence is the cell folder's files by absolute path; commits from the cells")
    func model() async throws {
        let fixture = try StoreFixture()
        try await fixture.fillTwoRuns()
        let o3 = Self.cellID(rev: "main", opt: "O3")
        let folder = fixture.store.layout.cell(StoreFixture.currentRun, o3)
        try AtomicFile.write("gcc -O3\n", to: "\(folder)/\(RunLayout.buildLog(level: 0, component: "minivisor"))")
        let runs = try await DashboardPublisher(store: fixture.store, folder: fixture.directory.path("d")).dashboardRuns()
        #expect(runs.map(\.id) == [StoreFixture.currentRun, StoreFixture.previousRun])
        let evidence = try #require(runs[0].evidence[o3])
        #expect(evidence.serialLog == "\(folder)/serial.log" && evidence.vmcsJSON == "\(folder)/vmcs.json")
        #expect(evidence.reproduceScript == "\(folder)/reproduce.sh")
        #expect(evidence.buildLogs == ["0-minivisor": "\(folder)/build-0-minivisor.log"])
        #expect(evidence.o0SiblingID == Self.cellID(rev: "main", opt: "O0"))
        #expect(runs[0].commits == ["minivisor (1 of 2)": StoreFixture.goodCommit, "minivisor (2 of 2)": StoreFixture.newMainCommit])
        #expect(runs[0].status == .finished && !runs[0].artifactsPruned)
        #expect(runs[0].findings.first?.kind == .optOnly)
        #expect(runs[0].findings.first?.detail.contains("VMCS diff") == true)
    }

    @Test("a running run and an interrupted run show as such")
    func runningAndInterrupted() async throws {
        let fixture = try StoreFixture()
        let interrupted = try await fixture.writeDatedRun(daysAgo: 2, finish: false)
        try await fixture.store.markInterrupted(interrupted)
        let running = try await fixture.writeDatedRun(daysAgo: 1, finish: false)
        let site = try await publish(fixture)
        #expect(try site.text("runs/\(running)/index.html").contains("<b>still running</b>"))
        #expect(try site.text("runs/\(interrupted)/index.html").contains("<b>interrupted</b>"))
        #expect(try site.text("index.html").contains("interrupted after"))
    }

    @Test("a pruned run's pages say so, keep the grid and history, and have no broken links")
    func prunedRun() async throws {
        let fixture = try StoreFixture()
        let old = try await fixture.writeDatedRun(daysAgo: 30, failing: ["main/O2", "main/O3"])
        let newest = try await fixture.writeDatedRun(daysAgo: 1, failing: ["main/O2", "main/O3"])
        let o3 = Cell.id(for: ["chain": "minivisor", "rev": "main", "opt": "O3", "bits": "i386", "smp": "1", "backend": "bochs"])
        // Published before pruning, so the old run's evidence is in the dashboard and must go.
        var site = try await publish(fixture)
        #expect(site.exists("runs/\(old)/\(o3)/serial.log"))

        try await fixture.store.prune(policy: RetentionPolicy(passingDays: 14, failingDays: 20), now: StoreFixture.retentionNow)
        site = try await publish(fixture)
        #expect(try site.text("index.html").contains("artifacts pruned"))
        let runPage = try site.text("runs/\(old)/index.html")
        #expect(runPage.contains("artifacts pruned (retention)") && runPage.contains("<table class=\"grid\">"))
        #expect(runPage.contains("<li class=\"k-opt-only\">"), "findings.json is kept")
        let cellPage = try site.text("runs/\(old)/\(o3)/index.html")
        #expect(cellPage.contains("artifacts pruned") && !cellPage.contains("serial.log"))
        #expect(!site.exists("runs/\(old)/\(o3)/serial.log") && !site.exists("runs/\(old)/\(o3)/vmcs.json"))
        let newestCell = try site.text("runs/\(newest)/\(o3)/index.html")
        #expect(newestCell.contains("\(old)</a> <span class=\"pruned\">artifacts pruned</span>"), "history marks the pruned run")
        #expect(site.exists("runs/\(newest)/\(o3)/serial.log"))

        let links = try site.badLinks()
        #expect(links.bad.isEmpty, "\(links.bad)")
    }

    @Test(
        "Chromium loads the published run and cell pages without console errors",
        .enabled(if: DashboardTests.chromium != nil, "needs Debian's chromium"))
    func chromium() async throws {
        let fixture = try StoreFixture()
        try await fixture.fillTwoRuns()
        let site = try await publish(fixture)
        let base = fixture.directory.url
        let pages = ["index.html", "runs/\(StoreFixture.currentRun)/index.html",
                     "runs/\(StoreFixture.currentRun)/\(Self.cellID(rev: "main", opt: "O3"))/index.html"]
        // One browser start for all pages; the control frame proves console capture works.
        try "<!DOCTYPE html><script>console.error('nestci-control-frame')</script>".write(
            to: base.appendingPathComponent("control.html"), atomically: true, encoding: .utf8)
        let frames = pages.map { "<iframe src=\"dashboard/\($0)\"></iframe>" }.joined(separator: "\n")
        let harness = base.appendingPathComponent("harness.html")
        try "<!DOCTYPE html><html><body>\(frames)\n<iframe src=\"control.html\"></iframe></body></html>".write(
            to: harness, atomically: true, encoding: .utf8)
        let profile = base.appendingPathComponent("chromium-profile")
        let loaded = try await DashboardTests.chromium(["--virtual-time-budget=10000", "--dump-dom"], url: harness, profile: profile)
        #expect(loaded.succeeded, "chromium: \(loaded.summary)")
        let console = loaded.output.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Uncaught") }
        #expect(console.contains { $0.contains("nestci-control-frame") }, "console capture did not work: \(loaded.output.suffix(2000))")
        let errors = console.filter { !$0.contains("nestci-control-frame") }
        #expect(errors.isEmpty, "console errors: \(errors.joined(separator: "\n"))")

        let runPage = URL(fileURLWithPath: "\(site.folder)/runs/\(StoreFixture.currentRun)/index.html")
        let dom = try await DashboardTests.chromium(["--dump-dom"], url: runPage, profile: profile)
        #expect(dom.output.contains("<table class=\"grid\">"))
        #expect(dom.output.contains("passes at O0, fails at O2, O3"))
    }

    @Test("publishing 50 runs × 12 cells writes every page and picks up a newly finished cell")
    func timing() async throws {
        let fixture = try StoreFixture()
        for index in 0..<50 {
            try await fixture.writeDatedRun(
                daysAgo: Double(50 - index) / 2, bits: ["i386", "amd64"], failing: index % 3 == 0 ? ["main/O2", "main/O3"] : [])
        }
        let publisher = DashboardPublisher(store: fixture.store, folder: fixture.directory.path("dashboard"))
        let clock = ContinuousClock()
        let cold = try await clock.measure { try await publisher.publish() }

        // What the service does: a run is going, one more cell finished, publish again. The
        // cell's history changes on its page in every run (51 pages), and the run's pages.
        let running = ArtifactStore.newRunID(now: StoreFixture.retentionNow)
        let cell = SyntheticCell.result(values: StoreFixture.values(rev: "main", opt: "O3"), outcome: .fail, reason: "VMLAUNCH error", line: 9)
        try await fixture.store.beginRun(
            id: running, matrix: "demo", matrixPath: "/demo/demo.json", trigger: "manual", hostJSON: "{}", cellIDs: [cell.cellID],
            started: StoreFixture.retentionNow)
        try fixture.writeCellFiles(runID: running, result: cell)
        try await fixture.store.recordCell(runID: running, result: cell)
        let oneCell = try await clock.measure { try await publisher.publish() }
        let unchanged = try await clock.measure { try await publisher.publish() }

        // Worst case: a whole new run of 12 cells at once rewrites every cell page's history.
        try await fixture.writeDatedRun(daysAgo: 0, bits: ["i386", "amd64"])
        let newRun = try await clock.measure { try await publisher.publish() }

        // Where the time goes: reading the store, or writing pages.
        var runs: [DashboardRun] = []
        let read = try await clock.measure { runs = try await publisher.dashboardRuns() }
        print(
            "publish 50 runs × 12 cells: cold \(cold), after one more cell \(oneCell), unchanged \(unchanged), "
                + "after a new 12-cell run \(newRun); reading the store \(read)")
        let site = PublishedSite(folder: publisher.folder)
        #expect(site.exists("runs/\(running)/\(cell.cellID)/serial.log"))
        let pageCount = site.pages().count
        #expect(pageCount == 1 + 52 + 51 * 12 + 1, "index, 52 run pages, their cell pages")
        #expect(runs.count == 52)
        // Timings are printed, not asserted: speed is for benchmarks, not a loaded CI.
    }
}
