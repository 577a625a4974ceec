import Foundation
import Matrix
import Testing

@testable import CIRunner

/// Issue 15: `slower` / `faster` findings from a cell's history of timings, noise-aware.
@Suite("Performance findings")
struct PerformanceFindingTests {
    static let cell = try! MatrixFile.parse(FixtureMatrix.matrixText, file: "m.json").plan().cells.first { $0.chain == "pass" }!
    static let host = "lab1 | Xeon | 6.1 | bochs 2.7"

    /// A PASS result of the fixture cell at `commit`, `seconds` to pass, the banner at a tenth of it.
    static func result(_ seconds: Double, commit: String) -> CellResult {
        var result = CellResult(cell: cell, outcome: .pass, rule: "pass:pass[0]", reason: "FIXTURE PASS", line: 9, secondsToVerdict: seconds, commits: ["fixture": commit])
        result.milestones = [
            MilestoneTime(name: MilestoneTime.firstOutput, seconds: 3), MilestoneTime(name: "banner", seconds: 4, line: 2),
            MilestoneTime(name: MilestoneTime.verdict, seconds: seconds, line: 9),
        ]
        return result
    }

    /// Nights of (commit, seconds), oldest first, as the store returns them: newest first.
    static func history(_ nights: [(String, Double)], host: String = PerformanceFindingTests.host) -> [PerformanceSample] {
        nights.enumerated().map { index, night in
            PerformanceSample(
                runID: String(format: "20261101-%06d-abcd", index), started: Date(timeIntervalSince1970: Double(index) * 86_400), hostKey: host,
                result: result(night.1, commit: night.0))
        }.reversed()
    }

    static func analyzer(_ cell: CellResult, history: [PerformanceSample]) -> PerformanceAnalyzer {
        PerformanceAnalyzer(runID: "20261201-000000-ffff", hostKeys: ["qemu-tcg": host], cells: [cell], rules: [cell.cellID: PerformanceRules()], history: [cell.cellID: history])
    }

    static let commitA = "84b01ca77aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    static let commitB = "3c6192ea0bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    static let commitC = "5d5d5d5d5ccccccccccccccccccccccccccccccc"
    /// Eight nights at commit A: 80 s give or take a second.
    static let quiet: [(String, Double)] = [79, 81, 80, 82, 78, 80, 81, 79].map { (commitA, $0) }

    @Test("a commit that adds a delay before the pass line: slower, confirmed by the re-boot; the text names band and commits")
    func slower() throws {
        let now = Self.result(127, commit: Self.commitB)
        let analyzer = Self.analyzer(now, history: Self.history(Self.quiet))
        #expect(analyzer.suspects.map(\.cellID) == [now.cellID])
        #expect(analyzer.findings(confirmations: [:]).isEmpty, "one slow boot is noise until the re-boot agrees")
        let findings = analyzer.findings(confirmations: [now.cellID: Self.result(125, commit: Self.commitB)])
        let finding = try #require(findings.first)
        #expect(findings.count == 1, "the banner milestone did not move: only the time to pass")
        #expect(finding.kind == .slower)
        #expect(finding.title == "pass O0/i386 time to pass 80 s → 127 s (+59 %, band ±10 % over 8 runs), fixture 84b01ca77..3c6192ea0")
        #expect(finding.text.hasPrefix("[slower] pass O0/i386 time to pass"))
        #expect(finding.detail.contains("re-boot in the same run: 125 s"))
        #expect(finding.commits == [Finding.CommitChange(component: "fixture", before: Self.commitA, after: Self.commitB)])
    }

    @Test("the re-boot lands inside the band: no finding")
    func rebootInside() {
        let now = Self.result(127, commit: Self.commitB)
        #expect(Self.analyzer(now, history: Self.history(Self.quiet)).findings(confirmations: [now.cellID: Self.result(81, commit: Self.commitB)]).isEmpty)
    }

    @Test("a later commit removing the delay: faster, against the slow level; the slow level itself is not reported again")
    func faster() throws {
        let slowNight = Self.quiet + [(Self.commitB, 127)]
        let again = Self.result(128, commit: Self.commitB)
        #expect(Self.analyzer(again, history: Self.history(slowNight)).suspects.isEmpty, "127 s again at B: the new level, not news")
        let now = Self.result(80, commit: Self.commitC)
        let analyzer = Self.analyzer(now, history: Self.history(slowNight))
        let finding = try #require(analyzer.findings(confirmations: [now.cellID: Self.result(81, commit: Self.commitC)]).first)
        #expect(finding.kind == .faster)
        #expect(finding.title.hasPrefix("pass O0/i386 time to pass 127 s → 80 s (-37 %"))
        #expect(finding.title.hasSuffix("fixture 3c6192ea0..5d5d5d5d5"))
    }

    @Test("jitter inside the band gives nothing", arguments: [76.0, 80, 84, 87])
    func jitter(seconds: Double) {
        let noisy: [(String, Double)] = [74, 86, 80, 77, 84, 79, 83, 76].map { (Self.commitA, $0) }
        let now = Self.result(seconds, commit: Self.commitA)
        let analyzer = Self.analyzer(now, history: Self.history(noisy))
        #expect(analyzer.suspects.isEmpty)
        #expect(analyzer.findings(confirmations: [now.cellID: now]).isEmpty)
    }

    @Test("a noisy history widens the band: MAD, not a fixed percentage")
    func noisyBand() throws {
        let noisy: [(String, Double)] = [60, 100, 80, 70, 90, 65, 95, 80].map { (Self.commitA, $0) }
        let band = try #require(PerformanceBand.baseline(newestFirst: Self.history(noisy).compactMap(\.result.secondsToVerdict), rules: PerformanceRules()))
        #expect(band.median == 80)
        #expect(band.halfWidth > 40, "3 × 1.4826 × MAD (12.5 s)")
        #expect(Self.analyzer(Self.result(110, commit: Self.commitA), history: Self.history(noisy)).suspects.isEmpty)
    }

    @Test("only results of the same host, backend and configuration count")
    func comparableOnly() {
        let now = Self.result(127, commit: Self.commitB)
        #expect(Self.analyzer(now, history: Self.history(Self.quiet, host: "other | host")).suspects.isEmpty, "another host: no band")
        var changed = Self.history(Self.quiet)
        for index in changed.indices { changed[index].result.configuration?["boot timeout"] = "0123456789ab" }
        #expect(Self.analyzer(now, history: changed).suspects.isEmpty, "another configuration: no band")
        var failing = Self.history(Self.quiet)
        for index in failing.indices { failing[index].result.outcome = .fail }
        #expect(Self.analyzer(now, history: failing).suspects.isEmpty, "failing results time nothing")
        #expect(Self.analyzer(now, history: Array(Self.history(Self.quiet).prefix(2))).suspects.isEmpty, "fewer than minHistory results")
    }

    @Test("a milestone that moved is reported on its own")
    func milestone() throws {
        var now = Self.result(80, commit: Self.commitB)
        now.milestones?[1].seconds = 14
        let finding = try #require(Self.analyzer(now, history: Self.history(Self.quiet)).findings(confirmations: [now.cellID: now]).first)
        #expect(finding.title.hasPrefix("pass O0/i386 time to banner 4.0 s → 14.0 s (+250 %"))
    }
}

/// Milestones and rates from XMHF64's real serial output (Tests/Fixtures/serial), judged with
/// the example matrix's own rules.
@Suite("Milestones")
struct MilestoneTests {
    @Test("XMHF → LHV: banner, runtime, first iteration, pass; rates per CPU")
    func xmhfCapture() throws {
        let matrix = try MatrixFile.load(path: MatrixFixturesPath.xmhfExample)
        let chain = try #require(matrix.chains["xmhf-lhv"])
        #expect(chain.performance.milestones.map(\.name) == ["banner", "runtime", "first-iter"])
        var machine = try VerdictStateMachine(rules: chain.verdict, smp: 2, hostHasVMX: true, milestones: chain.performance.milestones)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: MatrixFixturesPath.serial("xmhf-i386-lhv-smp2-bochs.serial.txt"))))
        // Through the serial line model the boot uses (CRLF lines, as XMHF64 prints them).
        var scanner = SerialScanner()
        var decided: Verdict?
        for line in scanner.feed(bytes) where decided == nil {
            if case .decide(let verdict) = machine.serialLine(number: line.number, text: line.text, at: .milliseconds(100 * line.number)) { decided = verdict }
        }
        let verdict = try #require(decided)
        #expect(verdict.outcome == .pass)
        let times = MilestoneTime.timeline(firstOutput: .milliseconds(50), reached: machine.milestoneTimes, verdict: verdict)
        #expect(times.map(\.name) == ["first-output", "banner", "runtime", "first-iter", "verdict"])
        #expect(times.map(\.line) == [nil, 1, 79, 388, verdict.lineNumber])
        #expect(times[2].text == "Transferring control to runtime", "XMHF's own hand-over, not LHV's later one")
        #expect(abs(times[3].seconds - 38.8) < 1e-9)
        #expect(times.map(\.seconds) == times.map(\.seconds).sorted())
        let rates = machine.rates
        #expect(rates.map(\.cpu) == [0, 1])
        #expect(rates.allSatisfy { $0.count == 21 && ($0.perSecond ?? 0) > 0 })
    }

    @Test("without milestones: the first byte and the deciding line")
    func defaults() throws {
        var machine = try VerdictStateMachine(rules: VerdictRules(pass: [PassRule(marker: Marker(name: "ok", regex: "OK"))], fail: [], unsupported: []), smp: 1, hostHasVMX: true)
        _ = machine.serialLine(number: 1, text: "hello", at: .seconds(1))
        guard case .decide(let verdict) = machine.serialLine(number: 2, text: "OK", at: .seconds(2)) else {
            Issue.record("OK decides")
            return
        }
        let times = MilestoneTime.timeline(firstOutput: .milliseconds(900), reached: machine.milestoneTimes, verdict: verdict)
        #expect(times == [MilestoneTime(name: "first-output", seconds: 0.9), MilestoneTime(name: "verdict", seconds: 2, line: 2, text: "OK")])
        #expect(machine.rates.isEmpty)
    }
}

enum MatrixFixturesPath {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let xmhfExample = root.appendingPathComponent("examples/xmhf64-nightly.json").path
    static func serial(_ name: String) -> String { root.appendingPathComponent("Tests/Fixtures/serial/\(name)").path }
}

/// Issue 15: the charts are inline SVG, escaped, without script.
@Suite("Performance charts")
struct PerformanceChartTests {
    @Test("cell page: a timeline of the milestones and a history chart; run page: bars of cell times; names escaped")
    func charts() throws {
        let generated = try DashboardTests.Generated()
        defer { generated.remove() }
        let cell = try #require(generated.runs[0].cells.first { $0.outcome == .pass && $0.milestones != nil })
        let page = try generated.text("runs/\(DashboardTests.newest)/\(Dashboard.folderName(cell.cellID))/index.html")
        #expect(page.contains("<svg class=\"chart timeline\""))
        #expect(page.contains(">runtime &lt;b&gt;</text>") && !page.contains("runtime <b>"))
        #expect(page.contains(">first-iter</text>") && page.contains(">verdict</text>"))
        #expect(page.contains("<svg class=\"chart history\""), "three runs of history")
        #expect(page.contains("fill=\"#2e9e4f\" fill-opacity=\"0.14\""), "the band of the passing runs")
        let run = try generated.text("runs/\(DashboardTests.newest)/index.html")
        #expect(run.contains("<svg class=\"chart bars\""))
        #expect(run.contains("<a href=\"\(Dashboard.folderName(cell.cellID))/index.html\"><text"))
        #expect(!page.contains("<script") && !run.contains("<script"))
    }

    @Test("headless Chromium renders the charts from file:// (DOM and a screenshot)", .enabled(if: DashboardTests.chromium != nil, "needs Debian's chromium"))
    func chromium() async throws {
        let generated = try DashboardTests.Generated()
        defer { generated.remove() }
        let cell = try #require(generated.runs[0].cells.first { $0.outcome == .pass && $0.milestones != nil })
        let page = generated.folder.appendingPathComponent("runs/\(DashboardTests.newest)/\(Dashboard.folderName(cell.cellID))/index.html")
        let profile = generated.base.appendingPathComponent("chromium-profile")
        let dom = try await DashboardTests.chromium(["--dump-dom"], url: page, profile: profile)
        #expect(dom.succeeded, "chromium: \(dom.summary)")
        #expect(dom.output.contains("<svg class=\"chart timeline\"") && dom.output.contains("<svg class=\"chart history\""))
        #expect(dom.output.contains("runtime &lt;b&gt;"), "the escaped name is text in the DOM, not an element")
        let update = ProcessInfo.processInfo.environment["NESTCI_UPDATE_SCREENSHOT"] == "1"
        let screenshot = update
            ? DashboardFixture.root.appendingPathComponent("docs/dashboard-perf.png") : generated.base.appendingPathComponent("dashboard-perf.png")
        let shot = try await DashboardTests.chromium(["--screenshot=\(screenshot.path)", "--window-size=1000,2300", "--hide-scrollbars"], url: page, profile: profile)
        #expect(shot.succeeded, "chromium: \(shot.summary)")
        let png = try Data(contentsOf: screenshot)
        #expect(png.prefix(4) == Data([0x89, 0x50, 0x4e, 0x47]) && png.count > 10_000)
    }
}

/// `nestci perf`: the times per run and commit, with the band.
@Suite("nestci perf")
struct PerfCommandTests {
    @Test("a table per cell: each run's commits, times and where it fell against the band before it; --json")
    func table() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-perf-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let matrix = folder.appendingPathComponent("matrix.json").path
        try FixtureMatrix.matrixText.write(toFile: matrix, atomically: true, encoding: .utf8)
        let storePath = folder.appendingPathComponent("store").path
        let store = try ArtifactStore(root: storePath)
        let host = String(decoding: try JSONEncoder().encode(await HostProbe.fingerprint()), as: UTF8.self)
        let nights = PerformanceFindingTests.quiet + [(PerformanceFindingTests.commitB, 127.0)]
        for (index, night) in nights.enumerated() {
            let id = String(format: "20261101-%06d-abcd", index)
            let result = PerformanceFindingTests.result(night.1, commit: night.0)
            try await store.beginRun(id: id, matrix: "fixture-run", matrixPath: matrix, trigger: "test", hostJSON: host, cellIDs: [result.cellID])
            try await store.finishRun(id: id, results: RunResults(runID: id, matrix: "fixture-run", started: Date(), finished: Date(), cells: [result]))
        }
        let cell = PerformanceFindingTests.cell.id
        let (console, output) = Console.capturing()
        #expect(await NestCI.main(["perf", matrix, "--store", storePath, "--cell", cell], console: console) == 0, "\(output.err)")
        let lines = output.out.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("\(cell)  pass fixture O0/i386") == true)
        let newest = try #require(lines.first { $0.contains("20261101-000008-abcd") })
        #expect(newest.contains("fixture 3c6192ea0") && newest.contains("127.00") && newest.contains("+59 % slower"))
        #expect(lines.contains { $0.contains("20261101-000007-abcd") && $0.contains("in band") })
        #expect(lines.last?.contains("band for the next run: 114.30–139.70 s (median 127.00 s ±10 %, 1 results)") == true, "\(lines.last ?? "")")

        let (jsonConsole, json) = Console.capturing()
        #expect(await NestCI.main(["perf", matrix, "--store", storePath, "--cell", cell, "--json"], console: jsonConsole) == 0)
        let decoded = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [[String: Any]]
        #expect((decoded?.first?["runs"] as? [Any])?.count == 9)

        let (badConsole, bad) = Console.capturing()
        #expect(await NestCI.main(["perf", matrix, "--store", storePath, "--cell", "nope"], console: badConsole) == 64)
        #expect(bad.err.contains("no cell nope in"))
    }
}
