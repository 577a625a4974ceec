import Foundation
import Matrix
import Testing

@testable import CIRunner

@Suite("Service config")
struct ServiceConfigTests {
    /// A folder with the two example matrices and `service.json`.
    struct Folder {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-config-\(UUID().uuidString)")

        init() throws {
            try FileManager.default.createDirectory(at: url.appendingPathComponent("matrices"), withIntermediateDirectories: true)
            for name in ["xmhf64-nightly.json", "demo.json"] {
                try FileManager.default.copyItem(
                    at: DashboardFixture.root.appendingPathComponent("examples/\(name)"), to: url.appendingPathComponent("matrices/\(name)"))
            }
        }

        func write(_ text: String) throws -> String {
            let path = url.appendingPathComponent("service.json").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        func remove() { try? FileManager.default.removeItem(at: url) }
    }

    static func issues(_ text: String, in folder: Folder) throws -> [MatrixIssue] {
        let path = try folder.write(text)
        do {
            _ = try ServiceConfig.load(path: path)
            Issue.record("expected errors")
            return []
        } catch let error as MatrixError {
            return error.issues
        }
    }

    @Test("a full config: paths relative to the file, schedules, retention, webhook, defaults")
    func valid() throws {
        let folder = try Folder()
        defer { folder.remove() }
        let path = try folder.write("""
            {
              "matrices": [
                {"path": "matrices/xmhf64-nightly.json", "schedule": {"daily": "02:30", "timeZone": "Europe/Zurich"}, "watch": true},
                {"path": "matrices/demo.json", "schedule": {"everyHours": 6}}
              ],
              "retention": {"passingDays": 7, "maxBytes": "20G"},
              "dashboard": "www",
              "webhook": {"url": "http://127.0.0.1:9/hook", "retries": 2},
              "slots": 2
            }
            """)
        let config = try ServiceConfig.load(path: path)
        #expect(config.matrices.map(\.name) == ["xmhf64-nightly", "demo"])
        #expect(config.matrices[0].path == folder.url.appendingPathComponent("matrices/xmhf64-nightly.json").standardizedFileURL.path)
        #expect(config.matrices[0].schedule == .daily(hour: 2, minute: 30, timeZone: "Europe/Zurich"))
        #expect(config.matrices[0].watch && !config.matrices[1].watch)
        #expect(config.matrices[1].schedule == .everyHours(6))
        #expect(config.watchedMatrices.map(\.name) == ["xmhf64-nightly"])
        #expect(config.pollMinutes == 5 && config.debounceSeconds == 120)
        #expect(config.retention == .init(passingDays: 7, failingDays: 90, maxBytes: 20 << 30))
        #expect(config.dashboard == folder.url.appendingPathComponent("www").standardizedFileURL.path)
        #expect(config.webhook == .init(url: URL(string: "http://127.0.0.1:9/hook")!, timeoutSeconds: 10, retries: 2))
        #expect(config.slots == 2)
    }

    @Test("every problem at once, each with file:line:col, JSON path, what is accepted, did-you-mean")
    func allErrors() throws {
        let folder = try Folder()
        defer { folder.remove() }
        let issues = try Self.issues("""
            {
              "matrices": [
                {"path": "matrices/xmhf64-nightly.jsn", "schedule": {"daily": "25:00", "timeZone": "Europe/Zurch"}},
                {"path": "matrices/demo.json", "schedule": {"everyHours": "6"}, "wacth": true},
                {"path": "matrices/demo.json", "watch": false}
              ],
              "pollMinutes": 0,
              "debounceSecond": 30,
              "retention": {"maxBytes": "20X"},
              "webhook": {"url": "ftp://example.org/x"}
            }
            """, in: folder)
        let text = issues.map(\.description)
        let file = folder.url.appendingPathComponent("service.json").path
        func has(_ fragment: String) -> Bool { text.contains { $0.contains(fragment) } }
        #expect(has("\(file):3:14: matrices[0].path: matrix file"))
        #expect(has(#"does not exist (did you mean "xmhf64-nightly.json"?)"#))
        #expect(has(#"matrices[0].schedule.daily: bad time "25:00" (expected HH:MM on a 24-hour clock, e.g. "02:30")"#))
        #expect(has(#"matrices[0].schedule.timeZone: unknown time zone "Europe/Zurch" (did you mean "Europe/Zurich"?)"#))
        #expect(has("matrices[1].schedule.everyHours: expected a whole number from 1 to 168 (hours), found a string"))
        #expect(has(#"matrices[1].wacth: unknown key "wacth" in a matrix entry (did you mean "watch"?)"#))
        #expect(has("matrices[2]: this matrix would never run"))
        #expect(has("pollMinutes: 0 is out of range (expected a whole number from 1 to 1440 (minutes))"))
        #expect(has(#"\#(file):8:21: debounceSecond: unknown key "debounceSecond" in the service config (did you mean "debounceSeconds"?)"#))
        #expect(has(#"retention.maxBytes: expected a size such as "20G""#))
        #expect(has(#"webhook.url: "ftp://example.org/x" is not an http or https URL"#))
        #expect(issues.allSatisfy { $0.line > 0 && $0.column > 0 })
        #expect(has("matrices/demo.json is listed twice without a schedule of its own"))
        #expect(issues.count == 11)
        // In file order, as a person reads the file.
        #expect(issues.map { [$0.line, $0.column] } == issues.map { [$0.line, $0.column] }.sorted { $0.lexicographicallyPrecedes($1) })
    }

    @Test("problems inside a listed matrix file are reported at their own file and line")
    func brokenMatrix() throws {
        let folder = try Folder()
        defer { folder.remove() }
        let matrix = folder.url.appendingPathComponent("matrices/demo.json")
        let text = try String(contentsOf: matrix, encoding: .utf8).replacingOccurrences(of: #""O3"]"#, with: #""O4"]"#)
        try text.write(to: matrix, atomically: true, encoding: .utf8)
        let issues = try Self.issues(#"{"matrices": [{"path": "matrices/demo.json", "watch": true}]}"#, in: folder)
        #expect(issues.count == 1)
        #expect(issues.first?.file == matrix.path)
        #expect(issues.first?.description.contains(#"axes.opt[2]: unknown level "O4""#) == true)
    }

    @Test("syntax errors and a missing config file say where and what to do")
    func syntaxAndMissing() throws {
        let folder = try Folder()
        defer { folder.remove() }
        let issues = try Self.issues("{\n  \"matrices\": [,]\n}", in: folder)
        #expect(issues.first?.line == 2)
        #expect(issues.first?.message.hasPrefix("invalid JSON") == true)
        #expect(throws: MatrixError.self) { try ServiceConfig.load(path: "/nonexistent/service.json") }
        let missing = try Self.issues("{}", in: folder)
        #expect(missing.first?.message.contains("missing required key \"matrices\"") == true)
    }

    @Test(
        "sizes as people write them",
        arguments: [("20G", Int64(20) << 30), ("20GB", 20 << 30), ("20GiB", 20 << 30), ("500M", 500 << 20), ("1.5T", 3 << 39), ("4096", 4096), (" 2 k", 2048)])
    func byteSizes(text: String, bytes: Int64) {
        #expect(ByteSize.parse(text) == bytes)
    }

    @Test("not sizes", arguments: ["", "G", "20X", "-5G", "1e3", "20 GB extra"])
    func notByteSizes(text: String) {
        #expect(ByteSize.parse(text) == nil)
    }

    @Test("HH:MM on a 24-hour clock")
    func clock() {
        #expect(ServiceConfig.parseClock("02:30")! == (2, 30))
        #expect(ServiceConfig.parseClock("2:30")! == (2, 30))
        #expect(ServiceConfig.parseClock("23:59")! == (23, 59))
        for bad in ["24:00", "02:60", "2:3", "0230", "02:30:00", "-1:30", "ab:cd", "٠٢:٣٠"] {
            #expect(ServiceConfig.parseClock(bad) == nil, "\(bad)")
        }
    }
}
