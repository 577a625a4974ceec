import Foundation
import Matrix

extension ServiceConfig {
    static let topKeys = ["matrices", "pollMinutes", "pollSeconds", "debounceSeconds", "retention", "dashboard", "webhook", "slots", "executor"]
    static let matrixKeys = ["path", "schedule", "watch", "bisect", "triage"]
    static let bisectKeys = ["auto", "maxSteps", "maxHours"]
    static let triageKeys = ["auto", "maxBuilds"]
    static let scheduleKeys = ["daily", "timeZone", "everyHours"]
    static let retentionKeys = ["passingDays", "failingDays", "maxBytes"]
    static let webhookKeys = ["url", "timeoutSeconds", "retries"]

    /// Reads and validates `service.json`, and the matrix files it names.
    ///
    /// Throws ``MatrixError`` listing every problem (file:line:col, JSON path, what is
    /// accepted, did-you-mean), including those inside the matrix files, so `nestci serve`
    /// refuses to start rather than fail at 02:30.
    public static func load(path: String) throws -> ServiceConfig {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        guard let data = FileManager.default.contents(atPath: absolute) else {
            let reason = FileManager.default.fileExists(atPath: absolute) ? "cannot be read (check its permissions)" : "does not exist (pass --config FILE)"
            throw MatrixError(issues: [MatrixIssue(file: path, path: "", message: "the service config \(reason)")])
        }
        return try parse(String(decoding: data, as: UTF8.self), file: absolute)
    }

    /// Parses and validates config text; `file` names it in messages and relative paths
    /// are resolved against its folder.
    public static func parse(_ text: String, file: String) throws -> ServiceConfig {
        let issues = ConfigIssues(file: file)
        let root: JSONValue
        do {
            root = try JSONParser.parse(text)
        } catch {
            throw MatrixError(issues: [MatrixIssue(file: file, path: "", line: error.line, column: error.column, message: "invalid JSON: \(error.message)")])
        }
        let base = URL(fileURLWithPath: file).deletingLastPathComponent()
        var config = ServiceConfig(file: file, matrices: [], slots: max(1, ProcessInfo.processInfo.activeProcessorCount))
        guard let top = ConfigObject(root, path: "", issues: issues) else { throw MatrixError(issues: issues.issues) }
        top.rejectUnknownKeys(topKeys, what: "the service config")

        if let value = top["matrices"] {
            if case .array(let elements) = value.kind {
                if elements.isEmpty { issues.report("matrices", value, "no matrices listed (add one: {\"path\": \"nightly.json\", \"schedule\": {\"daily\": \"02:30\"}})") }
                let loads = MatrixLoads()
                for (index, element) in elements.enumerated() {
                    if let entry = matrixEntry(element, path: "matrices[\(index)]", base: base, issues: issues, loads: loads) { config.matrices.append(entry) }
                }
            } else {
                issues.report("matrices", value, "expected an array of {\"path\", \"schedule\", \"watch\"} objects, found \(value.typeName)")
            }
        } else {
            issues.report("", root, "missing required key \"matrices\" (the matrix files to run, e.g. [{\"path\": \"nightly.json\", \"schedule\": {\"daily\": \"02:30\"}}])")
        }
        checkDuplicates(config.matrices, root: top, issues: issues)

        config.pollMinutes = top.int("pollMinutes", range: 1...1440, unit: " (minutes)") ?? config.pollMinutes
        // Seconds win over minutes: for tests and for a busy lab that wants quick reaction.
        config.pollSeconds = top.int("pollSeconds", range: 1...86_400, unit: " (seconds)")
        config.debounceSeconds = top.int("debounceSeconds", range: 0...86_400, unit: " (seconds)") ?? config.debounceSeconds
        config.slots = top.int("slots", range: 1...256) ?? config.slots
        config.executor = executor(top, base: base, issues: issues)
        if let retention = top.object("retention") {
            retention.rejectUnknownKeys(retentionKeys, what: "retention")
            config.retention.passingDays = retention.int("passingDays", range: 0...36_500, unit: " (days)") ?? config.retention.passingDays
            config.retention.failingDays = retention.int("failingDays", range: 0...36_500, unit: " (days)") ?? config.retention.failingDays
            if let value = retention["maxBytes"] {
                if let bytes = ByteSize.parse(value) {
                    config.retention.maxBytes = bytes
                } else {
                    issues.report(retention.childPath("maxBytes"), value, "expected a size such as \"20G\", \"500M\", \"1.5T\" or a number of bytes, found \(value.scalarText.map { MessageText.quoted($0) } ?? value.typeName)")
                }
            }
        }
        if let value = top["dashboard"] {
            if let folder = top.string("dashboard") {
                if folder.isEmpty {
                    issues.report("dashboard", value, "empty folder name (give a folder, e.g. \"/var/lib/nestci/dashboard\", or leave the key out)")
                } else {
                    config.dashboard = URL(fileURLWithPath: folder, relativeTo: base).standardizedFileURL.path
                }
            }
        }
        if let webhook = top.object("webhook") {
            config.webhook = Self.webhook(webhook, issues: issues)
        }
        guard issues.issues.isEmpty else {
            // In file order (matrix files' own issues after, in theirs), as a person reads.
            let sorted = issues.issues.enumerated().sorted { a, b in
                let (x, y) = (a.element, b.element)
                if (x.file == file) != (y.file == file) { return x.file == file }
                return (x.line, x.column, a.offset) < (y.line, y.column, b.offset)
            }
            throw MatrixError(issues: sorted.map(\.element))
        }
        return config
    }

    /// Matrix files already read while reading this config, by resolved path: a config
    /// listing one file 100k times reads it once.
    private final class MatrixLoads {
        var results: [String: Result<String, MatrixError>] = [:]
        var paths: [String: (resolved: String, exists: Bool)] = [:]
        var zones: [String: Bool] = [:]
        lazy var listed = Set(TimeZone.knownTimeZoneIdentifiers)

        /// `file` resolved against `base`, and whether it exists (URL arithmetic and stat
        /// once per distinct path).
        func resolve(_ file: String, base: URL) -> (resolved: String, exists: Bool) {
            if let known = paths[file] { return known }
            let resolved = URL(fileURLWithPath: file, relativeTo: base).standardizedFileURL.path
            let result = (resolved, FileManager.default.fileExists(atPath: resolved))
            paths[file] = result
            return result
        }

        /// Whether `identifier` names a time zone; Foundation is asked once per name, and
        /// only for names shaped like one (`Area/City`, `UTC`, `Etc/GMT+1`).
        func isTimeZone(_ identifier: String) -> Bool {
            if let known = zones[identifier] { return known }
            let shaped = (1...64).contains(identifier.utf8.count)
                && identifier.utf8.allSatisfy { byte in
                    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || "/_+-".utf8.contains(byte)
                }
            // Foundation is slow to say no: past 1,000 distinct names (a broken file), only
            // the listed identifiers count.
            let valid = shaped && (listed.contains(identifier) || (zones.count < 1000 && TimeZone(identifier: identifier) != nil))
            zones[identifier] = valid
            return valid
        }

        func load(_ path: String) -> Result<String, MatrixError>? {
            if let known = results[path] { return known }
            do {
                let result = Result<String, MatrixError>.success(try MatrixFile.load(path: path).name)
                results[path] = result
                return result
            } catch let error as MatrixError {
                results[path] = .failure(error)
                return .failure(error)
            } catch {
                return nil
            }
        }
    }

    private static func matrixEntry(_ value: JSONValue, path: String, base: URL, issues: ConfigIssues, loads: MatrixLoads) -> MatrixEntry? {
        guard let object = ConfigObject(value, path: path, issues: issues) else { return nil }
        object.rejectUnknownKeys(matrixKeys, what: "a matrix entry")
        let watch = object.bool("watch") ?? false
        var schedule: Schedule?
        if let scheduleObject = object.object("schedule") { schedule = Self.schedule(scheduleObject, issues: issues, loads: loads) }
        if object["schedule"] == nil, object["watch"] != nil, !watch {
            issues.report(path, value, "this matrix would never run: give it a \"schedule\" or set \"watch\": true")
        } else if object["schedule"] == nil, object["watch"] == nil {
            issues.report(path, value, "this matrix would never run: add \"schedule\": {\"daily\": \"02:30\"} or {\"everyHours\": 6}, or \"watch\": true")
        }
        guard let file = object.string("path") else {
            if object["path"] == nil { issues.report(path, value, "missing required key \"path\" (the matrix file, relative to this config file)") }
            return nil
        }
        let (resolved, exists) = loads.resolve(file, base: base)
        var shown: String { MessageText.escaped(resolved, limit: 240) }
        guard exists else {
            issues.report(object.childPath("path"), object["path"], "matrix file \(shown) does not exist\(siblingHint(resolved)) (paths are relative to the config file's folder)")
            return nil
        }
        var bisect = Bisect(), triage = Triage()
        if let settings = object.object("bisect") {
            settings.rejectUnknownKeys(bisectKeys, what: "bisect settings")
            bisect.auto = settings.bool("auto") ?? bisect.auto
            bisect.maxSteps = settings.int("maxSteps", range: 1...1000, unit: " (steps)") ?? bisect.maxSteps
            bisect.maxHours = settings.int("maxHours", range: 1...168, unit: " (hours)").map(Double.init) ?? bisect.maxHours
        }
        if let settings = object.object("triage") {
            settings.rejectUnknownKeys(triageKeys, what: "triage settings")
            triage.auto = settings.bool("auto") ?? triage.auto
            triage.maxBuilds = settings.int("maxBuilds", range: 1...10_000, unit: " (builds)") ?? triage.maxBuilds
        }
        switch loads.load(resolved) {
        case .success(let name):
            var entry = MatrixEntry(path: resolved, name: name, schedule: schedule, watch: watch)
            entry.bisect = bisect
            entry.triage = triage
            return entry
        // The matrix's own problems, each at its own file and line.
        case .failure(let error): issues.append(contentsOf: error.issues)
        case nil: issues.report(object.childPath("path"), object["path"], "cannot read matrix file \(shown)")
        }
        return nil
    }

    /// ` (did you mean "x.json"?)` from the missing file's folder, or "".
    private static func siblingHint(_ resolved: String) -> String {
        let folder = URL(fileURLWithPath: resolved).deletingLastPathComponent()
        let siblings = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".json") }
        let name = URL(fileURLWithPath: resolved).lastPathComponent
        return DidYouMean.suggestion(for: name, among: siblings).map { " (did you mean \"\($0)\"?)" } ?? ""
    }

    private static func schedule(_ object: ConfigObject, issues: ConfigIssues, loads: MatrixLoads) -> Schedule? {
        object.rejectUnknownKeys(scheduleKeys, what: "a schedule")
        let daily = object["daily"], every = object["everyHours"]
        switch (daily, every) {
        case (nil, nil):
            issues.report(object.path, object.value, "a schedule needs \"daily\": \"HH:MM\" (with an optional \"timeZone\") or \"everyHours\": N")
            return nil
        case (.some, .some):
            issues.report(object.path, object.value, "give either \"daily\" or \"everyHours\", not both (one schedule per matrix entry; list the matrix twice for two)")
            return nil
        case (nil, .some):
            if let zone = object["timeZone"] { issues.report(object.childPath("timeZone"), zone, "\"timeZone\" applies to \"daily\" only (everyHours counts hours from the last run)") }
            guard let hours = object.int("everyHours", range: 1...168, unit: " (hours)") else { return nil }
            return .everyHours(hours)
        case (.some(let value), nil):
            var zone = "UTC"
            if let text = object.string("timeZone") {
                if loads.isTimeZone(text) {
                    zone = text
                } else {
                    issues.report(
                        object.childPath("timeZone"), object["timeZone"],
                        "unknown time zone \(MessageText.quoted(text))\(DidYouMean.suggestion(for: text, among: TimeZone.knownTimeZoneIdentifiers).map { " (did you mean \"\($0)\"?)" } ?? "") (expected an IANA name such as \"Europe/Zurich\" or \"UTC\")")
                }
            }
            guard let text = object.string("daily") else { return nil }
            guard let (hour, minute) = parseClock(text) else {
                issues.report(object.childPath("daily"), value, "bad time \(MessageText.quoted(text)) (expected HH:MM on a 24-hour clock, e.g. \"02:30\")")
                return nil
            }
            return .daily(hour: hour, minute: minute, timeZone: zone)
        }
    }

    /// `02:30` or `2:30` → (2, 30); nil unless a valid 24-hour time.
    static func parseClock(_ text: String) -> (Int, Int)? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...2).contains(parts[0].count), parts[1].count == 2,
            parts.allSatisfy({ $0.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }),
            let hour = Int(parts[0]), let minute = Int(parts[1]), (0...23).contains(hour), (0...59).contains(minute)
        else { return nil }
        return (hour, minute)
    }

    private static func webhook(_ object: ConfigObject, issues: ConfigIssues) -> Webhook? {
        object.rejectUnknownKeys(webhookKeys, what: "webhook")
        let timeout = object.int("timeoutSeconds", range: 1...300, unit: " (seconds)") ?? 10
        let retries = object.int("retries", range: 0...10) ?? 3
        guard let text = object.string("url") else {
            if object["url"] == nil { issues.report(object.path, object.value, "missing required key \"url\" (where to POST run summaries, e.g. \"https://chat.example.org/hooks/abc\")") }
            return nil
        }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host?.isEmpty == false else {
            issues.report(object.childPath("url"), object["url"], "\(MessageText.quoted(text)) is not an http or https URL (expected e.g. \"https://chat.example.org/hooks/abc\")")
            return nil
        }
        return Webhook(url: url, timeoutSeconds: timeout, retries: retries)
    }

    private static func checkDuplicates(_ entries: [MatrixEntry], root: ConfigObject, issues: ConfigIssues) {
        var seenPaths = Set<String>(), seenNames: [String: String] = [:]
        for entry in entries {
            if !seenPaths.insert(entry.path).inserted, entry.schedule == nil {
                issues.report("matrices", root["matrices"], "\(entry.path) is listed twice without a schedule of its own (merge the entries)")
            }
            if let other = seenNames[entry.name], other != entry.path {
                issues.report("matrices", root["matrices"], "\(other) and \(entry.path) are both named \(MessageText.quoted(entry.name)); history is kept per name, so rename one")
            }
            seenNames[entry.name] = entry.path
        }
    }
}

/// Sizes as people write them: `20G`, `500M`, `1.5T`, `20GiB`, or a number of bytes.
public enum ByteSize {
    /// Binary units (K = 1024). Nil for anything else.
    public static func parse(_ value: JSONValue) -> Int64? {
        switch value.kind {
        case .number(_, let number):
            guard number >= 0, number.rounded() == number, number < 9e18 else { return nil }
            return Int64(number)
        case .string(let text): return parse(text)
        default: return nil
        }
    }

    public static func parse(_ text: String) -> Int64? {
        var text = text.trimmingCharacters(in: .whitespaces).uppercased()
        for suffix in ["IB", "B"] where text.hasSuffix(suffix) {
            text.removeLast(suffix.count)
            break
        }
        let units: [Character: Double] = ["K": 1024, "M": 1_048_576, "G": 1_073_741_824, "T": 1_099_511_627_776]
        var multiplier = 1.0
        if let last = text.last, let unit = units[last] {
            multiplier = unit
            text.removeLast()
        }
        text = text.trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }), let number = Double(text) else { return nil }
        let bytes = number * multiplier
        guard bytes < 9e18 else { return nil }
        return Int64(bytes.rounded())
    }
}
