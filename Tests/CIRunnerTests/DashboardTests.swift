import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

// Serialized: generating dashboards is file-system heavy, and two cores are shared with
// the other suites (whose timing tests must not starve).
@Suite("Dashboard", .serialized)
struct DashboardTests {
    /// A generated dashboard in a fresh temp folder, with its store beside it.
    struct Generated {
        let base: URL
        var folder: URL { base.appendingPathComponent("dashboard") }
        var store: URL { base.appendingPathComponent("store") }
        let runs: [DashboardRun]

        init() throws {
            base = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-dashboard-\(UUID().uuidString)")
            runs = try DashboardFixture.runs(store: base.appendingPathComponent("store"))
            try Dashboard(folder: base.appendingPathComponent("dashboard").path, title: "nestci · xmhf64").write(runs: runs)
        }

        func remove() { try? FileManager.default.removeItem(at: base) }

        func text(_ relative: String) throws -> String {
            try String(contentsOf: folder.appendingPathComponent(relative), encoding: .utf8)
        }

        /// Every HTML page, relative to the dashboard folder.
        func pages() -> [String] {
            let enumerator = FileManager.default.enumerator(atPath: folder.path)
            var found: [String] = []
            while let next = enumerator?.nextObject() as? String { if next.hasSuffix(".html") { found.append(next) } }
            return found.sorted()
        }
    }

    static let newest = "20261125-0230-ab12"

    static func bugCell() throws -> Cell {
        try #require(DashboardFixture.cells().first { DashboardFixture.isTheBug($0) && $0.opt == .O3 })
    }

    @Test("writes index, run and cell pages, each with JSON beside it")
    func writesPages() throws {
        let generated = try Generated()
        defer { generated.remove() }
        let cells = try DashboardFixture.cells()
        let pages = generated.pages()
        #expect(pages.count == 1 + 3 + 3 * cells.count)
        for page in pages {
            let json = page.replacingOccurrences(of: ".html", with: ".json")
            let data = try Data(contentsOf: generated.folder.appendingPathComponent(json))
            #expect((try? JSONSerialization.jsonObject(with: data)) != nil, "\(json) is not JSON")
        }
        let index = try generated.text("index.html")
        // Newest first, with trigger and counts.
        let positions = generated.runs.map { index.range(of: $0.id)!.lowerBound }
        #expect(positions == positions.sorted())
        #expect(index.contains("branch xmhf64 moved a1b2c3d → d4e5f6a"))
        #expect(index.contains("1 FAIL"))
        #expect(index.contains("artifacts pruned"))
        let object = try JSONSerialization.jsonObject(with: Data(generated.text("index.json").utf8)) as? [String: Any]
        #expect((object?["runs"] as? [Any])?.count == 3)

        // Writing the same model again rewrites nothing but the index's timestamp.
        let page = generated.folder.appendingPathComponent("runs/\(Self.newest)/index.html").path
        let before = try FileManager.default.attributesOfItem(atPath: page)[.modificationDate] as? Date
        let inode = try FileManager.default.attributesOfItem(atPath: page)[.systemFileNumber] as? Int
        try Dashboard(folder: generated.folder.path, title: "nestci · xmhf64").write(runs: generated.runs)
        #expect(try FileManager.default.attributesOfItem(atPath: page)[.modificationDate] as? Date == before)
        #expect(try FileManager.default.attributesOfItem(atPath: page)[.systemFileNumber] as? Int == inode)
    }

    @Test("the run page puts findings on top and the matrix as a bits × opt grid")
    func runPage() throws {
        let generated = try Generated()
        defer { generated.remove() }
        let bug = try Self.bugCell()
        let page = try generated.text("runs/\(Self.newest)/index.html")
        let findings = try #require(page.range(of: "id=\"findings\""))
        let grid = try #require(page.range(of: "class=\"grid\""))
        #expect(findings.lowerBound < grid.lowerBound)
        #expect(page.contains("xmhf-lhv fails at -O3 only"))
        #expect(page.contains("<td class=\"cell o-fail flagged\"><a href=\"\(bug.id)/index.html\""))
        for outcome in ["o-pass", "o-fail", "o-timeout", "o-build-fail", "o-infra", "o-skip", "o-flaky"] {
            #expect(page.contains("<td class=\"cell \(outcome)"), "no \(outcome) cell in the grid")
        }
        // Columns: i386 -O0 -O2 -O3, amd64 -O0 -O3.
        let header = try #require(page.range(of: "<th class=\"axis\">-O0</th>"))
        let columns = page[header.lowerBound...].prefix(200)
        #expect(columns.contains("-O0</th><th class=\"axis\">-O2</th><th class=\"axis\">-O3</th><th class=\"axis\">-O0"))
    }

    @Test("the grid: a row per chain × smp × backend, a column per bits × opt")
    func gridLayout() throws {
        let runs = try DashboardFixture.runs(store: FileManager.default.temporaryDirectory.appendingPathComponent("unused-\(UUID())"))
        let grid = RunGrid(runs[2].cells)
        #expect(grid.columns.map { "\($0.bits) \($0.opt)" } == ["i386 O0", "i386 O2", "i386 O3", "amd64 O0", "amd64 O3"])
        #expect(grid.rows.first?.chain == "kvm-xmhf-xmhf-debian")
        #expect(grid.rows.count == 2 + 4 + 4 + 2)
        #expect(grid.rows.first { $0.chain == "xmhf-lhv" }?.components == "xmhf64 → lhv")
        let bug = try Self.bugCell()
        let row = RunGrid.row(of: try #require(runs[0].cells.first { $0.cellID == bug.id }))
        #expect(grid.cell(row, .init(bits: "i386", opt: "O3"))?.cellID == bug.id)
    }

    @Test("the cell page: verdict, escaped serial tail, VMCS tables, diff, reproduce.sh, history")
    func cellPage() throws {
        let generated = try Generated()
        defer { generated.remove() }
        let bug = try Self.bugCell()
        let folder = "runs/\(Self.newest)/\(bug.id)"
        let page = try generated.text("\(folder)/index.html")
        #expect(page.contains("<span class=\"badge o-fail\">FAIL</span>"))
        #expect(page.contains("CPU(0x00): VM-ENTRY error: reason=0x80000021"))
        #expect(page.contains("serial line <b>225</b>"))
        #expect(page.contains("<span class=\"hit\"><span class=\"n\">225</span>"))
        #expect(page.contains("&lt;script&gt;alert(&quot;not escaped&quot;)&lt;/script&gt; &amp; more") == false, "line 4 is outside the 60-line tail")
        #expect(!page.contains("<script"))
        #expect(page.contains("Serial log, last 60 of 226 lines"))
        #expect(page.contains("VM-entry interruption-information field"))
        #expect(page.contains("<td class=\"value\">0x80000603</td>"))
        #expect(page.contains("VMCS diff against -O0"))
        if let sibling = DashboardFixture.o0Sibling(of: bug, in: try DashboardFixture.cells()) {
            #expect(page.contains("href=\"../\(sibling.id)/index.html\""))
        }
        #expect(page.contains("<a href=\"reproduce.sh\">reproduce.sh</a>"))
        #expect(page.contains("href=\"../../20261124-0230-9f3e/\(bug.id)/index.html\""))
        for file in ["serial.log", "vmcs.json", "reproduce.sh", "build-xmhf64.log"] {
            #expect(FileManager.default.fileExists(atPath: generated.folder.appendingPathComponent("\(folder)/\(file)").path), "\(file) missing")
        }
        let cell = try JSONSerialization.jsonObject(with: Data(generated.text("\(folder)/index.json").utf8)) as? [String: Any]
        #expect(((cell?["serialTail"] as? [String: Any])?["lines"] as? [Any])?.count == 60)
    }

    @Test("serial text is HTML-escaped, control characters made visible")
    func escaping() throws {
        #expect(HTML.escape("<script>alert('x')</script> & \"q\"") == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;")
        #expect(HTML.escape("\u{1b}[1mbold\u{0}") == "\u{241b}[1mbold\u{2400}")
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-escape-\(UUID())")
        defer { try? FileManager.default.removeItem(at: base) }
        var runs = try DashboardFixture.runs(store: base.appendingPathComponent("store"))
        // A short log: the whole file is the tail, including the hostile line.
        let cell = runs[0].cells[0]
        let log = base.appendingPathComponent("short.log")
        try "boot\n<img src=x onerror=alert(1)>\n\u{1b}[31mred\u{1b}[0m\n".write(to: log, atomically: true, encoding: .utf8)
        runs[0].evidence[cell.cellID] = DashboardCellEvidence(serialLog: log.path)
        try Dashboard(folder: base.appendingPathComponent("d").path).write(runs: runs)
        let page = try String(contentsOf: base.appendingPathComponent("d/runs/\(Self.newest)/\(cell.cellID)/index.html"), encoding: .utf8)
        #expect(page.contains("&lt;img src=x onerror=alert(1)&gt;"))
        #expect(!page.contains("<img"))
        #expect(page.contains("\u{241b}[31mred"))
    }

    @Test("a pruned run keeps its pages but shows no artifact links; a removed run's folder goes")
    func pruning() throws {
        var generated = try Generated()
        defer { generated.remove() }
        let bug = try Self.bugCell()
        let pruned = try generated.text("runs/20261110-0230-1c2d/\(bug.id)/index.html")
        #expect(pruned.contains("artifacts pruned"))
        #expect(!pruned.contains("serial.log"))
        // Prune the newest run's artifacts and drop the oldest run, then regenerate.
        var runs = generated.runs
        runs[0].artifactsPruned = true
        runs.removeLast()
        try Dashboard(folder: generated.folder.path).write(runs: runs)
        generated = Generated(base: generated.base, runs: runs)
        let folder = generated.folder.appendingPathComponent("runs/\(Self.newest)/\(bug.id)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["index.html", "index.json"])
        #expect(!FileManager.default.fileExists(atPath: generated.folder.appendingPathComponent("runs/20261110-0230-1c2d").path))
        #expect(try !generated.text("index.html").contains("20261110-0230-1c2d"))
        try Self.expectLinksResolve(in: generated)
    }

    @Test("every relative link in every page resolves to a file; no absolute links")
    func linksResolve() throws {
        let generated = try Generated()
        defer { generated.remove() }
        try Self.expectLinksResolve(in: generated)
    }

    static func expectLinksResolve(in generated: Generated) throws {
        let pattern = try NSRegularExpression(pattern: #"(?:href|src)="([^"]*)""#)
        var checked = 0
        for page in generated.pages() {
            let text = try generated.text(page)
            let pageURL = generated.folder.appendingPathComponent(page)
            // deploy/nginx.conf's Content-Security-Policy allows neither inline styles nor scripts.
            #expect(!text.contains("<script") && !text.contains(" style=\""), "\(page): inline script or style")
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let link = String(text[Range(match.range(at: 1), in: text)!])
                #expect(!link.contains(":") && !link.hasPrefix("/"), "\(page): absolute link \(link)")
                let path = String(link.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0])
                guard !path.isEmpty else { continue }
                let target = URL(fileURLWithPath: path, relativeTo: pageURL.deletingLastPathComponent()).standardizedFileURL
                #expect(FileManager.default.fileExists(atPath: target.path), "\(page): broken link \(link)")
                #expect(target.path.hasPrefix(generated.folder.standardizedFileURL.path), "\(page): link \(link) leaves the dashboard")
                checked += 1
            }
        }
        #expect(checked > 500)
    }

    static let chromium = ["chromium", "chromium-browser", "google-chrome"].first { name in
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").contains { access("\($0)/\(name)", X_OK) == 0 }
    }

    /// Runs headless Chromium on `url` under a deadline, with its own throw-away profile.
    static func chromium(_ arguments: [String], url: URL, profile: URL) async throws -> ProcessResult {
        let spec = ProcessSpec(
            try #require(chromium),
            ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
             "--user-data-dir=\(profile.path)", "--enable-logging=stderr", "--v=0"] + arguments + [url.absoluteString],
            timeout: .seconds(120), outputLimit: 16 << 20)
        return try await SupervisedProcess.run(spec)
    }

    @Test(
        "Chromium loads every page from file:// without console errors, and renders the run grid",
        .enabled(if: chromium != nil, "needs Debian's chromium"))
    func chromiumRenders() async throws {
        let generated = try Generated()
        defer { generated.remove() }
        let profile = generated.base.appendingPathComponent("chromium-profile")
        // One browser start for every page: a harness page frames them all, and console
        // messages from frames are logged too. A control frame proves the capture works.
        let pages = generated.pages()
        let control = generated.base.appendingPathComponent("control.html")
        try "<!DOCTYPE html><script>console.error('nestci-control-frame')</script>".write(to: control, atomically: true, encoding: .utf8)
        let frames = pages.map { "<iframe src=\"dashboard/\($0)\"></iframe>" }.joined(separator: "\n")
        let harness = generated.base.appendingPathComponent("harness.html")
        try "<!DOCTYPE html><html><body>\(frames)\n<iframe src=\"control.html\"></iframe></body></html>".write(to: harness, atomically: true, encoding: .utf8)
        let loaded = try await Self.chromium(["--virtual-time-budget=20000", "--dump-dom"], url: harness, profile: profile)
        #expect(loaded.succeeded, "chromium: \(loaded.summary)")
        let console = loaded.output.split(separator: "\n").filter { $0.contains("CONSOLE") || $0.contains("Uncaught") }
        #expect(console.contains { $0.contains("nestci-control-frame") }, "console capture did not work: \(loaded.output.suffix(2000))")
        let errors = console.filter { !$0.contains("nestci-control-frame") }
        #expect(errors.isEmpty, "console errors: \(errors.joined(separator: "\n"))")
        #expect(loaded.output.contains("<iframe src=\"dashboard/\(pages.last!)\""))

        // The run page rendered as a grid (the DOM after parsing, not our text).
        let runPage = generated.folder.appendingPathComponent("runs/\(Self.newest)/index.html")
        let dom = try await Self.chromium(["--dump-dom"], url: runPage, profile: profile)
        #expect(dom.output.contains("<table class=\"grid\">"))
        #expect(dom.output.contains("xmhf-lhv fails at -O3 only"))

        // A screenshot of the run page: into docs/ when asked to update it, else a temp file.
        let update = ProcessInfo.processInfo.environment["NESTCI_UPDATE_SCREENSHOT"] == "1"
        let screenshot = update
            ? DashboardFixture.root.appendingPathComponent("docs/dashboard-run.png")
            : generated.base.appendingPathComponent("dashboard-run.png")
        let shot = try await Self.chromium(
            ["--screenshot=\(screenshot.path)", "--window-size=1400,1000", "--hide-scrollbars"], url: runPage, profile: profile)
        #expect(shot.succeeded, "chromium: \(shot.summary)")
        let png = try Data(contentsOf: screenshot)
        #expect(png.prefix(8) == Data([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
        #expect(png.count > 10_000)
        if update {
            // The failing cell's page as well, for the README.
            let cell = generated.folder.appendingPathComponent("runs/\(Self.newest)/\(try Self.bugCell().id)/index.html")
            let cellShot = DashboardFixture.root.appendingPathComponent("docs/dashboard-cell.png")
            _ = try await Self.chromium(["--screenshot=\(cellShot.path)", "--window-size=1400,1400", "--hide-scrollbars"], url: cell, profile: profile)
        }
    }

    @Test("the serial tail numbers lines as the file does, also when read from the end")
    func tailNumbers() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tail-\(UUID()).log")
        defer { try? FileManager.default.removeItem(at: file) }
        try (1...50_000).map { "line \($0) " + String(repeating: "x", count: 20) }.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let tail = try #require(LogTail.read(file.path, lines: 60))
        #expect(tail.totalLines == 50_000)
        #expect(tail.firstLineNumber == 49_941)
        #expect(tail.lines.first?.hasPrefix("line 49941 ") == true)
        #expect(tail.lines.last?.hasPrefix("line 50000 ") == true)
    }
}

extension DashboardTests.Generated {
    init(base: URL, runs: [DashboardRun]) {
        self.base = base
        self.runs = runs
    }
}
