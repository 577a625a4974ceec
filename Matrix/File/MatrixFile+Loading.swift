import Foundation

extension MatrixFile {
    /// Reads and validates a matrix file. Throws ``MatrixError`` with every problem found.
    public static func load(path: String) throws -> MatrixFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read (check its permissions)" : "does not exist"
            throw MatrixError(issues: [MatrixIssue(file: path, path: "", message: "the matrix file \(reason)")])
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try parse(String(decoding: data, as: UTF8.self), file: path, baseDirectory: base)
    }

    /// Parses and validates matrix JSON text; `file` names it in messages.
    public static func parse(_ text: String, file: String = "matrix.json", baseDirectory: String = ".") throws -> MatrixFile {
        let root: JSONValue
        do {
            root = try JSONParser.parse(text)
        } catch {
            throw MatrixError(issues: [
                MatrixIssue(file: file, path: "", line: error.line, column: error.column, message: "invalid JSON: \(error.message)")
            ])
        }
        let diagnostics = Diagnostics(file: file)
        let matrix = MatrixFileDecoder(diagnostics: diagnostics, baseDirectory: baseDirectory).decode(root)
        if let matrix, diagnostics.issues.isEmpty {
            // Expansion problems (empty, too large, include errors) belong to loading too.
            _ = try? matrix.expand(diagnostics: diagnostics)
        }
        guard diagnostics.issues.isEmpty, let matrix else { throw MatrixError(issues: diagnostics.issues) }
        return matrix
    }
}

/// Turns the JSON tree into a ``MatrixFile``, reporting every problem into `diagnostics`.
struct MatrixFileDecoder {
    let diagnostics: Diagnostics
    let baseDirectory: String
    let regexValidity = RegexValidity()

    /// Whether each pattern seen compiles.
    final class RegexValidity {
        var results: [String: Bool] = [:]
    }

    static let topKeys = ["name", "description", "components", "chains", "axes", "exclude", "include", "workarounds", "defaults", "knownIssues"]
    static let componentKeys = ["kind", "description", "repository", "revision", "build", "boot", "options", "path", "bits", "commitURL"]
    static let buildKeys = ["command", "outputs", "compiler", "timeout"]
    static let bootKeys = ["kernel", "cmdline", "modules", "handoff", "grub"]
    static let chainKeys = ["description", "levels", "verdict", "timeouts", "memory", "emulator", "milestones", "performance"]
    static let levelKeys = ["component", "opt", "bits", "options", "vars", "cmdline"]
    static let verdictKeys = ["pass", "fail", "unsupported", "defaultFailMarkers", "cpuPattern"]
    static let markerKeys = ["name", "regex", "minPerCPU", "cpus"]
    static let timeoutKeys = ["build", "boot"]
    static let performanceKeys = ["history", "minHistory", "minChangePercent", "band"]
    static let workaroundKeys = ["compiler", "minMajor", "maxMajor", "levels", "flags", "reason"]
    static let knownIssueKeys = ["signature", "component", "expires", "link"]

    func decode(_ root: JSONValue) -> MatrixFile? {
        guard let top = ObjectReader(root, path: "", diagnostics: diagnostics) else { return nil }
        top.rejectUnknownKeys(Self.topKeys, what: "the matrix file")
        let name = top.string("name", required: true, what: "a name for this matrix, e.g. \"xmhf64-nightly\"") ?? ""
        if top["name"] != nil, case .string = top["name"]?.kind, let problem = SafeName.problem(name) {
            diagnostics.report("name", top["name"], "bad matrix name: \(problem)")
        }

        var defaults = (build: 1800, boot: 600, memory: 1024)
        if let object = top.object("defaults") {
            object.rejectUnknownKeys(["timeouts", "memory"], what: "defaults")
            if let timeouts = object.object("timeouts") {
                timeouts.rejectUnknownKeys(Self.timeoutKeys, what: "timeouts")
                defaults.build = timeouts.int("build", range: 1...86_400) ?? defaults.build
                defaults.boot = timeouts.int("boot", range: 1...86_400) ?? defaults.boot
            }
            defaults.memory = object.int("memory", range: 16...65_536) ?? defaults.memory
        }

        var components: [String: Component] = [:]
        if let object = top.object("components", required: true, what: "the hypervisors, guests and images to use") {
            for (key, value) in object.members {
                if let problem = SafeName.problem(key) { diagnostics.report(object.childPath(key), value, "bad component name: \(problem)") }
                if let component = decodeComponent(key, value, path: object.childPath(key)) { components[key] = component }
            }
            if object.members.isEmpty { diagnostics.report("components", object.value, "no components defined (define at least one)") }
        }

        var chains: [String: Chain] = [:]
        // Every name defined, even one whose definition has errors: a level naming it is fine.
        let componentList = top["components"].flatMap { value -> [String]? in
            guard case .object(let members) = value.kind else { return nil }
            return members.map(\.key)
        } ?? []
        let componentNames = (set: Set(componentList), list: componentList)
        if let object = top.object("chains", required: true, what: "the nesting chains, level 0 first") {
            chains.reserveCapacity(object.members.count)
            for (key, value) in object.members {
                if let problem = SafeName.problem(key) { diagnostics.report(object.childPath(key), value, "bad chain name: \(problem)") }
                if let chain = decodeChain(key, value, path: object.childPath(key), components: components, componentNames: componentNames, defaults: defaults) {
                    chains[key] = chain
                }
            }
            if object.members.isEmpty { diagnostics.report("chains", object.value, "no chains defined (define at least one)") }
        }

        let axes = decodeAxes(top.object("axes", required: true, what: "the axes to expand: opt, bits, backend, ..."), chains: chains)
        let axisNames = axes.map(\.name)
        let exclude = decodePartialCells(top.array("exclude") ?? [], axes: axes, chains: chains, strictKeys: true)
        let include = decodePartialCells(top.array("include") ?? [], axes: axes, chains: chains, strictKeys: false)

        var workarounds: [FlagWorkaround] = []
        for (path, value) in top.array("workarounds") ?? [] {
            if let workaround = decodeWorkaround(value, path: path) { workarounds.append(workaround) }
        }

        // Level overrides of the form "$axis" must name an axis.
        for chain in chains.keys.sorted().compactMap({ chains[$0] }) where chain.levels.contains(where: { $0.opt?.hasPrefix("$") == true || $0.bits?.hasPrefix("$") == true }) {
            for (index, level) in chain.levels.enumerated() {
                for (field, value) in [("opt", level.opt), ("bits", level.bits)] {
                    if let value, value.hasPrefix("$"), !axisNames.contains(String(value.dropFirst())) {
                        let reference = String(value.dropFirst())
                        diagnostics.report(
                            "chains.\(chain.name).levels[\(index)].\(field)", nil,
                            "\(MessageText.quoted(value)) refers to an axis that does not exist\(DidYouMean.hint(for: reference, among: axisNames)) (axes: \(MessageText.list(axisNames)))")
                    }
                }
            }
        }
        checkPlaceholders(components: components, chains: chains, axisNames: axisNames, include: include)
        let knownIssues = top["knownIssues"].map { decodeKnownIssues($0, path: "knownIssues", componentNames: componentNames.list) } ?? []

        return MatrixFile(
            name: name, components: components, chains: chains, axes: axes, exclude: exclude, include: include,
            workarounds: workarounds, baseDirectory: baseDirectory, knownIssues: knownIssues)
    }

    // MARK: Components

    private func decodeComponent(_ name: String, _ value: JSONValue, path: String) -> Component? {
        guard let object = ObjectReader(value, path: path, diagnostics: diagnostics) else { return nil }
        object.rejectUnknownKeys(Self.componentKeys, what: "a component")
        var kind: Component.Kind = object["path"] != nil && object["build"] == nil ? .image : .hypervisor
        if let text = object.string("kind") {
            if let parsed = Component.Kind(rawValue: text) {
                kind = parsed
            } else {
                diagnostics.report(object.childPath("kind"), object["kind"], unknownValue(text, "kind", Component.Kind.allCases.map(\.rawValue)))
            }
        }
        var component = Component(name: name, kind: kind, source: nil, build: nil, boot: nil, options: object.string("options") ?? "", imagePath: nil, imageBits: nil)
        if kind == .image {
            for key in ["repository", "revision", "build", "boot", "options", "commitURL"] where object[key] != nil {
                diagnostics.report(object.childPath(key), object[key], "an image is attached as it is: \(MessageText.quoted(key)) does not apply (remove it, or make this a hypervisor or guest)")
            }
            component.imagePath = object.string("path", required: true, what: "the disk image file")
            if let bits = object.string("bits") {
                component.imageBits = Bits(rawValue: bits)
                if component.imageBits == nil { diagnostics.report(object.childPath("bits"), object["bits"], unknownValue(bits, "bitness", Bits.allCases.map(\.rawValue))) }
            }
            return component
        }
        if let template = object.string("commitURL") {
            if let problem = CommitURLTemplate.problem(template) {
                diagnostics.report(object.childPath("commitURL"), object["commitURL"], problem)
            } else {
                component.commitURL = template
            }
        }
        if object["path"] != nil { diagnostics.report(object.childPath("path"), object["path"], "\"path\" is for images; a \(kind.rawValue) is built from \"repository\"") }
        if object["bits"] != nil { diagnostics.report(object.childPath("bits"), object["bits"], "\"bits\" is for images; a built component's bitness comes from the bits axis or the chain level") }
        let repository = object.string("repository", required: true, what: "the git repository: URL or path")
        let revision = object.string("revision", required: true, what: "branch, tag or commit")
        if let repository, let revision { component.source = .init(repository: repository, revision: revision) }

        var outputs: [String: String] = [:]
        if let build = object.object("build", required: true, what: "how to build it: command and outputs") {
            build.rejectUnknownKeys(Self.buildKeys, what: "a build recipe")
            let command = build.string("command", required: true, what: "the shell command template")
            outputs = build.stringMap("outputs") ?? [:]
            for (output, value) in build.object("outputs")?.members ?? [] {
                if let problem = SafeName.problem(output) { diagnostics.report(JSONPath.join(build.childPath("outputs"), output), value, "bad output name: \(problem)") }
            }
            if build["outputs"] == nil { diagnostics.report(build.path, build.value, "missing required key \"outputs\" (output name → path, e.g. {\"kernel\": \"build/{bits}/kernel.bin\"})") }
            if let command {
                component.build = .init(command: command, outputs: outputs, compiler: build.string("compiler") ?? "gcc", timeoutSeconds: build.int("timeout", range: 1...86_400))
            }
        }
        if let boot = object.object("boot", required: true, what: "how its level boots: kernel and modules") {
            boot.rejectUnknownKeys(Self.bootKeys, what: "a boot recipe")
            let kernel = boot.string("kernel", required: true, what: "the output name of the multiboot kernel") ?? ""
            let modules = boot.strings("modules") ?? []
            for (index, output) in ([kernel] + modules).enumerated() where !output.isEmpty && !outputs.isEmpty && outputs[output] == nil {
                let at = index == 0 ? boot.childPath("kernel") : "\(boot.childPath("modules"))[\(index - 1)]"
                diagnostics.report(at, nil, "\(MessageText.quoted(output)) is not an output of this component\(DidYouMean.hint(for: output, among: outputs.keys)) (outputs: \(MessageText.sortedList(outputs.keys)))")
            }
            var handoff: Component.Handoff = kind == .hypervisor ? .bootSector : .none
            if let text = boot.string("handoff") {
                if let parsed = Component.Handoff(rawValue: text) { handoff = parsed } else {
                    diagnostics.report(boot.childPath("handoff"), boot["handoff"], unknownValue(text, "handoff", Component.Handoff.allCases.map(\.rawValue)))
                }
            }
            let cmdline = boot.string("cmdline") ?? ""
            if let problem = SafeName.commandLineProblem(cmdline) { diagnostics.report(boot.childPath("cmdline"), boot["cmdline"], problem) }
            component.boot = .init(kernel: kernel, cmdline: cmdline, modules: modules, handoff: handoff, grubTemplate: boot.string("grub"))
        }
        return component
    }

    // MARK: Chains

    private func decodeChain(
        _ name: String, _ value: JSONValue, path: String, components: [String: Component], componentNames: (set: Set<String>, list: [String]),
        defaults: (build: Int, boot: Int, memory: Int)
    ) -> Chain? {
        guard let object = ObjectReader(value, path: path, diagnostics: diagnostics) else { return nil }
        object.rejectUnknownKeys(Self.chainKeys, what: "a chain")
        var levels: [Chain.Level] = []
        if let elements = object.array("levels", required: true, what: "the levels, outermost first") {
            if elements.isEmpty { diagnostics.report(object.childPath("levels"), object["levels"], "a chain needs at least one level") }
            for (index, (levelPath, levelValue)) in elements.enumerated() {
                guard let level = ObjectReader(levelValue, path: levelPath, diagnostics: diagnostics) else { continue }
                level.rejectUnknownKeys(Self.levelKeys, what: "a chain level")
                guard let componentName = level.string("component", required: true, what: "the component this level runs") else { continue }
                if !componentNames.set.contains(componentName) {
                    // Hints from the file's order, so that a tie is broken the same way every time.
                    diagnostics.report(level.childPath("component"), level["component"], "no component named \(MessageText.quoted(componentName))\(DidYouMean.hint(for: componentName, among: componentNames.list)) (components: \(MessageText.sortedList(componentNames.list)))")
                } else if let component = components[componentName], component.kind == .image, index != elements.count - 1 {
                    diagnostics.report(level.childPath("component"), level["component"], "\(MessageText.quoted(componentName)) is an image and can only be the last level (nothing boots from inside it)")
                }
                let opt = level.string("opt")
                if let opt, !opt.hasPrefix("$"), OptLevel(rawValue: opt) == nil {
                    diagnostics.report(level.childPath("opt"), level["opt"], unknownValue(opt, "level", OptLevel.allCases.map(\.rawValue)) + " or \"$axis\"")
                }
                let bits = level.string("bits")
                if let bits, !bits.hasPrefix("$"), Bits(rawValue: bits) == nil {
                    diagnostics.report(level.childPath("bits"), level["bits"], unknownValue(bits, "bitness", Bits.allCases.map(\.rawValue)) + " or \"$axis\"")
                }
                let cmdline = level.string("cmdline")
                if let cmdline, let problem = SafeName.commandLineProblem(cmdline) { diagnostics.report(level.childPath("cmdline"), level["cmdline"], problem) }
                levels.append(Chain.Level(component: componentName, opt: opt, bits: bits, options: level.string("options"), variables: level.stringMap("vars") ?? [:], cmdline: cmdline))
            }
        }
        var buildTimeout = defaults.build
        var bootTimeout = defaults.boot
        if let timeouts = object.object("timeouts") {
            timeouts.rejectUnknownKeys(Self.timeoutKeys, what: "timeouts")
            buildTimeout = timeouts.int("build", range: 1...86_400) ?? buildTimeout
            bootTimeout = timeouts.int("boot", range: 1...86_400) ?? bootTimeout
        }
        let verdict = decodeVerdict(object.object("verdict", required: true, what: "pass markers (and optionally fail markers)"))
        var chain = Chain(
            name: name, levels: levels, verdict: verdict, bootTimeoutSeconds: bootTimeout, buildTimeoutSeconds: buildTimeout,
            memoryMiB: object.int("memory", range: 16...65_536) ?? defaults.memory, emulator: decodeEmulator(object.object("emulator")))
        chain.performance = decodePerformance(object)
        return chain
    }

    private func decodeVerdict(_ object: ObjectReader?) -> VerdictRules {
        var rules = VerdictRules(pass: [], fail: VerdictRules.defaultFailMarkers, unsupported: VerdictRules.defaultUnsupportedMarkers)
        guard let object else { return rules }
        object.rejectUnknownKeys(Self.verdictKeys, what: "verdict rules")
        let passElements = object.array("pass", required: true, what: "at least one pass marker") ?? []
        if object["pass"] != nil, passElements.isEmpty { diagnostics.report(object.childPath("pass"), object["pass"], "no pass markers: a cell could never pass (add one)") }
        for (index, (path, value)) in passElements.enumerated() {
            if let (marker, minPerCPU, cpus) = decodeMarker(value, path: path, defaultName: "pass[\(index)]", allowCounts: true) {
                rules.pass.append(PassRule(marker: marker, minPerCPU: minPerCPU, cpus: cpus))
            }
        }
        var fail: [Marker] = []
        for (index, (path, value)) in (object.array("fail") ?? []).enumerated() {
            if let (marker, _, _) = decodeMarker(value, path: path, defaultName: "fail[\(index)]", allowCounts: false) { fail.append(marker) }
        }
        rules.fail = (object.bool("defaultFailMarkers") ?? true) ? VerdictRules.defaultFailMarkers + fail : fail
        if let elements = object.array("unsupported") {
            rules.unsupported = elements.enumerated().compactMap { index, element in
                decodeMarker(element.value, path: element.path, defaultName: "unsupported[\(index)]", allowCounts: false)?.0
            }
        }
        if let pattern = object.string("cpuPattern") {
            if checkRegex(pattern, path: object.childPath("cpuPattern"), value: object["cpuPattern"]) { rules.cpuPattern = pattern }
        }
        return rules
    }

    /// A chain's `milestones` (markers, like `fail`) and `performance` thresholds.
    private func decodePerformance(_ chain: ObjectReader) -> PerformanceRules {
        var rules = PerformanceRules()
        var names: Set<String> = []
        for (index, (path, value)) in (chain.array("milestones") ?? []).enumerated() {
            guard let (marker, _, _) = decodeMarker(value, path: path, defaultName: "milestone[\(index)]", allowCounts: false) else { continue }
            if !names.insert(marker.name).inserted {
                diagnostics.report(path, value, "duplicate milestone name \(MessageText.quoted(marker.name)) (name each milestone once)")
                continue
            }
            rules.milestones.append(marker)
        }
        guard let object = chain.object("performance") else { return rules }
        object.rejectUnknownKeys(Self.performanceKeys, what: "performance thresholds")
        rules.history = object.int("history", range: 2...1000) ?? rules.history
        rules.minHistory = object.int("minHistory", range: 2...1000) ?? rules.minHistory
        rules.minChangePercent = object.int("minChangePercent", range: 0...1000) ?? rules.minChangePercent
        rules.band = object.int("band", range: 1...100) ?? rules.band
        if rules.minHistory > rules.history {
            diagnostics.report(object.childPath("minHistory"), object["minHistory"], "minHistory \(rules.minHistory) exceeds history \(rules.history): no band could ever be made (lower minHistory or raise history)")
        }
        return rules
    }

    private func decodeMarker(_ value: JSONValue, path: String, defaultName: String, allowCounts: Bool) -> (Marker, Int?, Int?)? {
        if case .string(let regex) = value.kind {
            return checkRegex(regex, path: path, value: value) ? (Marker(name: defaultName, regex: regex), nil, nil) : nil
        }
        guard let object = ObjectReader(value, path: path, diagnostics: diagnostics) else { return nil }
        object.rejectUnknownKeys(allowCounts ? Self.markerKeys : ["name", "regex"], what: allowCounts ? "a pass marker" : "a marker")
        guard let regex = object.string("regex", required: true, what: "a regular expression matched against each serial line"),
            checkRegex(regex, path: object.childPath("regex"), value: object["regex"])
        else { return nil }
        return (Marker(name: object.string("name") ?? defaultName, regex: regex), object.int("minPerCPU", range: 1...1_000_000), object.int("cpus", range: 1...256))
    }

    func checkRegex(_ pattern: String, path: String, value: JSONValue?) -> Bool {
        // Compiled once per distinct pattern: 100k chains with the same marker are one compile.
        if let known = regexValidity.results[pattern] {
            if !known { diagnostics.report(path, value, "invalid regular expression \(MessageText.quoted(pattern)) (ICU syntax; escape ( ) [ ] . with \\\\)") }
            return known
        }
        do {
            _ = try NSRegularExpression(pattern: pattern)
            regexValidity.results[pattern] = true
            return true
        } catch {
            regexValidity.results[pattern] = false
            diagnostics.report(path, value, "invalid regular expression \(MessageText.quoted(pattern)) (ICU syntax; escape ( ) [ ] . with \\\\)")
            return false
        }
    }

    // MARK: Axes

    private func decodeAxes(_ object: ObjectReader?, chains: [String: Chain]) -> [(name: String, values: [String])] {
        var axes: [(name: String, values: [String])] = []
        guard let object else { return axes }
        for (key, value) in object.members {
            let path = object.childPath(key)
            guard let elements = ValueReader.array(value, path: path, diagnostics: diagnostics) else {
                axes.append((key, []))  // reported already; don't also call it missing
                continue
            }
            if elements.isEmpty { diagnostics.report(path, value, "an axis needs at least one value (remove the axis, or list its values)") }
            if !MatrixFile.builtInAxes.contains(key), let near = DidYouMean.suggestion(for: key, among: MatrixFile.builtInAxes) {
                diagnostics.report(path, value, "unknown axis \(MessageText.quoted(key)) looks like a misspelt built-in axis (did you mean \"\(near)\"?); name user axes distinctly")
                continue
            }
            var values: [String] = []
            var seen: Set<String> = []
            for (elementPath, element) in elements {
                guard let text = element.scalarText else {
                    diagnostics.report(elementPath, element, "expected a string or number, found \(element.typeName)")
                    continue
                }
                if !Self.isValid(axis: key, value: text, element: element, chains: chains) {
                    diagnostics.report(elementPath, element, Self.problem(axis: key, value: text, element: element, chains: chains) ?? "invalid value")
                    continue
                }
                if !seen.insert(text).inserted { diagnostics.report(elementPath, element, "duplicate value \(MessageText.quoted(text)) (list each value once)"); continue }
                values.append(text)
            }
            axes.append((key, values))
        }
        // Defaults for built-in axes the file leaves out.
        if !axes.contains(where: { $0.name == "chain" }) { axes.insert(("chain", chains.keys.sorted()), at: 0) }
        if !axes.contains(where: { $0.name == "smp" }) { axes.append(("smp", ["1"])) }
        for required in ["opt", "bits", "backend"] where !axes.contains(where: { $0.name == required }) {
            let choices: [String] =
                switch required {
                case "opt": OptLevel.allCases.map(\.rawValue)
                case "bits": Bits.allCases.map(\.rawValue)
                default: Backend.allCases.map(\.rawValue)
                }
            diagnostics.report("axes", object.value, "missing axis \"\(required)\" (values: \(MessageText.list(choices)))")
        }
        return axes
    }

    /// Whether `value` is valid on axis `axis`: cheap, so a file with 100k bad values is
    /// checked in linear time and only the reported ones pay for a message.
    static func isValid(axis: String, value: String, element: JSONValue?, chains: [String: Chain]) -> Bool {
        switch axis {
        case "opt": return OptLevel(rawValue: value) != nil
        case "bits": return Bits(rawValue: value) != nil
        case "backend": return Backend(rawValue: value) != nil
        case "chain": return chains[value] != nil
        default: return problem(axis: axis, value: value, element: element, chains: chains) == nil
        }
    }

    /// What is wrong with `value` on axis `axis`, or `nil`.
    static func problem(axis: String, value: String, element: JSONValue?, chains: [String: Chain]) -> String? {
        if let problem = SafeName.valueProblem(value) { return problem }
        switch axis {
        case "opt": return OptLevel(rawValue: value) == nil ? unknownValueText(value, "level", OptLevel.allCases.map(\.rawValue)) : nil
        case "bits": return Bits(rawValue: value) == nil ? unknownValueText(value, "bitness", Bits.allCases.map(\.rawValue)) : nil
        case "backend": return Backend(rawValue: value) == nil ? unknownValueText(value, "backend", Backend.allCases.map(\.rawValue)) : nil
        case "chain": return chains[value] == nil ? unknownValueText(value, "chain", chains.keys, sorted: true) : nil
        case "smp":
            if let element, case .number = element.kind {} else if element != nil { return "expected a whole number of CPUs from 1 to 64" }
            guard let count = Int(value), (1...64).contains(count) else { return "expected a whole number of CPUs from 1 to 64, found \(MessageText.quoted(value))" }
            return nil
        default: return nil
        }
    }

    private func unknownValue(_ value: String, _ what: String, _ choices: [String]) -> String { Self.unknownValueText(value, what, choices) }

    /// `sorted` lists the choices in name order (names from the file), else as given.
    static func unknownValueText(_ value: String, _ what: String, _ choices: some Collection<String>, sorted: Bool = false) -> String {
        "unknown \(what) \(MessageText.quoted(value))\(DidYouMean.hint(for: value, among: choices)) (expected \(sorted ? MessageText.sortedList(choices) : MessageText.list(choices)))"
    }

    // MARK: Include / exclude

    private func decodePartialCells(_ elements: [(path: String, value: JSONValue)], axes: [(name: String, values: [String])], chains: [String: Chain], strictKeys: Bool) -> [[String: String]] {
        let axisNames = axes.map(\.name)
        let axisNameSet = Set(axisNames)
        let axisValues = Dictionary(axes.map { ($0.name, Set($0.values)) }, uniquingKeysWith: { a, _ in a })
        var result: [[String: String]] = []
        for (path, value) in elements {
            guard let object = ObjectReader(value, path: path, diagnostics: diagnostics) else { continue }
            if object.members.isEmpty { diagnostics.report(path, value, "an empty entry matches every cell (give at least one axis value)"); continue }
            var cell: [String: String] = [:]
            for (key, member) in object.members {
                let memberPath = object.childPath(key)
                if strictKeys, !axisNameSet.contains(key) {
                    diagnostics.report(memberPath, member, "unknown axis \(MessageText.quoted(key))\(DidYouMean.hint(for: key, among: axisNames)) (axes: \(MessageText.list(axisNames)))")
                    continue
                }
                if !strictKeys, !axisNameSet.contains(key), !diagnostics.isFull, let near = DidYouMean.suggestion(for: key, among: axisNames) {
                    diagnostics.report(memberPath, member, "\(MessageText.quoted(key)) is not an axis (did you mean \"\(near)\"?); an include may add new variables, but this looks like a typo")
                    continue
                }
                guard let text = member.scalarText else {
                    diagnostics.report(memberPath, member, "expected a string or number, found \(member.typeName)")
                    continue
                }
                if !Self.isValid(axis: key, value: text, element: member, chains: chains) {
                    diagnostics.report(memberPath, member, Self.problem(axis: key, value: text, element: member, chains: chains) ?? "invalid value")
                    continue
                }
                if strictKeys, let valueSet = axisValues[key], !valueSet.contains(text), let values = axes.first(where: { $0.name == key })?.values {
                    diagnostics.report(memberPath, member, "\(MessageText.quoted(text)) is not a value of axis \(MessageText.quoted(key)), so this exclude matches nothing (values: \(MessageText.list(values)))")
                    continue
                }
                cell[key] = text
            }
            result.append(cell)
        }
        return result
    }

    // MARK: Workarounds

    private func decodeWorkaround(_ value: JSONValue, path: String) -> FlagWorkaround? {
        guard let object = ObjectReader(value, path: path, diagnostics: diagnostics) else { return nil }
        object.rejectUnknownKeys(Self.workaroundKeys, what: "a flag workaround")
        var levels: Set<OptLevel> = []
        for (levelPath, element) in object.array("levels", required: true, what: "the -O levels it applies at") ?? [] {
            guard let text = ValueReader.string(element, path: levelPath, diagnostics: diagnostics) else { continue }
            if let level = OptLevel(rawValue: text) { levels.insert(level) } else {
                diagnostics.report(levelPath, element, unknownValue(text, "level", OptLevel.allCases.map(\.rawValue)))
            }
        }
        guard let flags = object.array("flags", required: true, what: "the flags to add")?.compactMap({ ValueReader.string($0.value, path: $0.path, diagnostics: diagnostics) }),
            let reason = object.string("reason", required: true, what: "why, for the build record")
        else { return nil }
        return FlagWorkaround(
            compiler: object.string("compiler") ?? "gcc", minMajor: object.int("minMajor", range: 0...1000) ?? 0,
            maxMajor: object.int("maxMajor", range: 0...1000), levels: levels, flags: flags, reason: reason)
    }

    // MARK: Placeholders

    private func checkPlaceholders(components: [String: Component], chains: [String: Chain], axisNames: [String], include: [[String: String]]) {
        let includeKeys = Set(include.flatMap(\.keys))
        var variablesByComponent: [String: Set<String>] = [:]
        for level in chains.values.flatMap(\.levels) { variablesByComponent[level.component, default: []].formUnion(level.variables.keys) }
        for (name, component) in components.sorted(by: { $0.key < $1.key }) {
            guard let build = component.build else { continue }
            let levelVariables = variablesByComponent[name] ?? []
            let known = Set(["opt", "bits", "jobs", "options"] + axisNames).union(includeKeys).union(levelVariables)
            let templates = [("components.\(name).build.command", build.command), ("components.\(name).revision", component.source?.revision ?? "")]
                + build.outputs.sorted { $0.key < $1.key }.map { ("components.\(name).build.outputs.\($0.key)", $0.value) }
                + [("components.\(name).boot.cmdline", component.boot?.cmdline ?? "")]
            for (path, template) in templates {
                for placeholder in Template.placeholders(in: template) where !known.contains(placeholder) {
                    diagnostics.report(path, nil, "unknown placeholder {\(placeholder)}\(DidYouMean.hint(for: placeholder, among: known)) (known: \(MessageText.sortedList(known)))")
                }
            }
        }
    }
}
