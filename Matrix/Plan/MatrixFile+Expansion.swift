import Foundation

extension MatrixFile {
    /// Expands the matrix into cells and builds. Throws ``MatrixError`` when the expansion
    /// is empty, too large, or an include makes an impossible cell.
    public func plan() throws -> Plan {
        let diagnostics = Diagnostics(file: name)
        let plan = try expand(diagnostics: diagnostics)
        if !diagnostics.issues.isEmpty { throw MatrixError(issues: diagnostics.issues) }
        return plan
    }

    func expand(diagnostics: Diagnostics) throws -> Plan {
        // Refuse absurd sizes before building them.
        let productSize = axes.reduce(1.0) { $0 * Double(max($1.values.count, 1)) }
        if productSize > Double(Self.maxCells) * 4 || productSize + Double(include.count) > Double(Self.maxCells) * 4 {
            diagnostics.report("axes", nil, "the axes multiply to \(Int(productSize)) cells, more than the limit of \(Self.maxCells) (remove axis values or split the matrix)")
            throw MatrixError(issues: diagnostics.issues)
        }
        // GitHub Actions semantics: exclude first, then include. Only the cells that stay
        // are built, from their index in the product (first axis slowest, as listed).
        let excluded = excludedCombinations()
        let allAxes = Set(axes.map(\.name))
        var combinations: [(values: [String: String], original: Set<String>, fromInclude: Int?)] = []
        for index in excluded.indices where !excluded[index] {
            var values = [String: String](minimumCapacity: axes.count)
            var rest = index
            for axis in axes.reversed() {
                values[axis.name] = axis.values[rest % axis.values.count]
                rest /= axis.values.count
            }
            combinations.append((values, allAxes, nil))
        }
        let originalCount = combinations.count
        for (index, partial) in include.enumerated() {
            var extended = false
            for position in 0..<originalCount {
                let combination = combinations[position]
                let compatible = partial.allSatisfy { key, value in
                    !combination.original.contains(key) || combination.values[key] == value
                }
                if compatible {
                    combinations[position].values.merge(partial) { _, new in new }
                    extended = true
                }
            }
            if !extended {
                var values = partial
                // A new cell takes a built-in axis that has a single value from that axis.
                for axis in Self.builtInAxes where values[axis] == nil {
                    let axisValues = self.values(of: axis)
                    if axisValues.count == 1 { values[axis] = axisValues[0] }
                }
                let missing = ["chain", "opt", "bits", "backend"].filter { values[$0] == nil }
                if !missing.isEmpty {
                    diagnostics.report("include[\(index)]", nil, "matches no cell, so it adds a new one, which needs values for: \(MessageText.list(missing))")
                    continue
                }
                combinations.append((values, Set(values.keys), index))
            }
        }

        var cells: [Cell] = []
        var dropped: [Plan.DroppedCell] = []
        var seen: Set<String> = []
        for combination in combinations {
            switch resolve(combination.values) {
            case .success(let cell):
                if seen.insert(cell.id).inserted { cells.append(cell) }
            case .failure(let problem):
                if let index = combination.fromInclude {
                    diagnostics.report("include[\(index)]", nil, "adds a cell that cannot exist: \(problem.message)")
                } else if problem.isConfigurationError {
                    diagnostics.report(problem.path, nil, problem.message)
                } else {
                    dropped.append(.init(values: combination.values, reason: problem.message))
                }
            }
        }
        if cells.isEmpty, diagnostics.issues.isEmpty {
            let why = dropped.first.map { " (every cell was dropped; e.g. \($0.reason))" } ?? (exclude.isEmpty ? "" : " (the excludes remove every cell)")
            diagnostics.report("axes", nil, "the matrix expands to no cells\(why)")
        }
        if cells.count > Self.maxCells {
            diagnostics.report("axes", nil, "the matrix expands to \(cells.count) cells, more than the limit of \(Self.maxCells) (remove axis values or split the matrix)")
        }
        // The file's order: axes as declared, values as listed (include-added ones last).
        // Findings treat a user axis's first value as the baseline (e.g. rev: good, main).
        func rank(_ cell: Cell) -> [Int] {
            axes.map { axis in cell.values[axis.name].flatMap { axis.values.firstIndex(of: $0) } ?? axis.values.count }
        }
        cells.sort { a, b in
            let (ra, rb) = (rank(a), rank(b))
            return ra != rb ? ra.lexicographicallyPrecedes(rb) : a.id < b.id
        }
        var builds: [Plan.PlannedBuild] = []
        var buildIndex: [String: Int] = [:]
        for cell in cells {
            for spec in cell.levels.compactMap(\.build) {
                let key = spec.key
                if let index = buildIndex[key] {
                    if !builds[index].cellIDs.contains(cell.id) { builds[index].cellIDs.append(cell.id) }
                } else {
                    buildIndex[key] = builds.count
                    builds.append(.init(key: key, spec: spec, cellIDs: [cell.id]))
                }
            }
        }
        return Plan(matrix: name, cells: cells, builds: builds, dropped: dropped, knownIssues: knownIssues, commitURLs: commitURLs)
    }

    /// Which combinations of the cartesian product (in its order: first axis slowest) an
    /// exclude removes. Each exclude marks the cells it matches by their index, so the cost
    /// is what the excludes remove, not cells × excludes (30k excludes of a 40k-cell
    /// product would be 10⁹ comparisons).
    private func excludedCombinations() -> [Bool] {
        let counts = axes.map(\.values.count)
        let total = counts.reduce(1, *)
        var removed = [Bool](repeating: false, count: total)
        guard total > 0 else { return removed }
        var strides = [Int](repeating: 1, count: axes.count)
        for position in stride(from: axes.count - 2, through: 0, by: -1) { strides[position] = strides[position + 1] * counts[position + 1] }
        let axisPosition = Dictionary(axes.enumerated().map { ($0.element.name, $0.offset) }, uniquingKeysWith: { a, _ in a })
        let valueIndex = axes.map { axis in Dictionary(axis.values.enumerated().map { ($0.element, $0.offset) }, uniquingKeysWith: { a, _ in a }) }
        var removedCount = 0
        // No de-duplication: hashing 250k dictionaries costs more than re-marking a cell.
        for partial in exclude {
            if removedCount == total { break }
            var base = 0
            var fixed = [Bool](repeating: false, count: axes.count)
            var matchesSome = true
            for (key, value) in partial {
                // A key that is no axis, or a value the axis lacks, matches no cell.
                guard let position = axisPosition[key], let index = valueIndex[position][value] else {
                    matchesSome = false
                    break
                }
                base += index * strides[position]
                fixed[position] = true
            }
            guard matchesSome else { continue }
            let free = (0..<axes.count).filter { !fixed[$0] }
            // An odometer over the free axes.
            var digits = [Int](repeating: 0, count: free.count)
            while true {
                var index = base
                for (slot, position) in free.enumerated() { index += digits[slot] * strides[position] }
                if !removed[index] {
                    removed[index] = true
                    removedCount += 1
                }
                var slot = free.count - 1
                while slot >= 0 {
                    digits[slot] += 1
                    if digits[slot] < counts[free[slot]] { break }
                    digits[slot] = 0
                    slot -= 1
                }
                if slot < 0 { break }
            }
        }
        return removed
    }

    private struct Problem: Error {
        var message: String
        /// A mistake in the file rather than an impossible combination.
        var isConfigurationError = false
        var path = ""
    }

    private func resolve(_ values: [String: String]) -> Result<Cell, Problem> {
        guard let chainName = values["chain"], let chain = chains[chainName],
            let opt = values["opt"].flatMap(OptLevel.init), let bits = values["bits"].flatMap(Bits.init),
            let smp = values["smp"].flatMap({ Int($0) }), let backend = values["backend"].flatMap(Backend.init)
        else { return .failure(Problem(message: "a built-in axis has no valid value")) }

        func axisValue(_ override: String?, default fallback: String) -> String {
            guard let override else { return fallback }
            return override.hasPrefix("$") ? values[String(override.dropFirst())] ?? fallback : override
        }

        var levels: [PlannedLevel] = []
        for (index, level) in chain.levels.enumerated() {
            guard let component = components[level.component] else { return .failure(Problem(message: "unknown component")) }
            let isLast = index == chain.levels.count - 1
            if component.kind == .image {
                let path = component.imagePath.map(resolvePath) ?? ""
                levels.append(PlannedLevel(component: component.name, kind: "image", opt: nil, bits: component.imageBits, build: nil, imagePath: path, boot: nil))
                continue
            }
            guard let levelOpt = OptLevel(rawValue: axisValue(level.opt, default: opt.rawValue)) else {
                return .failure(Problem(message: "level \(index) (\(component.name)): opt \(axisValue(level.opt, default: "")) is not an optimisation level", isConfigurationError: true, path: "chains.\(chain.name).levels[\(index)].opt"))
            }
            guard let levelBits = Bits(rawValue: axisValue(level.bits, default: bits.rawValue)) else {
                return .failure(Problem(message: "level \(index) (\(component.name)): bits \(axisValue(level.bits, default: "")) is not a bitness", isConfigurationError: true, path: "chains.\(chain.name).levels[\(index)].bits"))
            }
            var variables = values
            variables["bits"] = levelBits.rawValue
            variables["opt"] = levelOpt.rawValue
            variables["options"] = level.options ?? component.options
            variables.merge(level.variables) { _, new in new }
            var spec: BuildSpec?
            if let source = component.source, let recipe = component.build {
                var used: [String: String] = [:]
                let templates = [recipe.command, source.revision] + recipe.outputs.values
                for name in templates.flatMap(Template.placeholders(in:)) where name != "opt" && name != "jobs" {
                    guard let value = variables[name] else {
                        return .failure(Problem(message: "{\(name)} in the build of \(component.name) has no value in this cell", isConfigurationError: true, path: "components.\(component.name).build"))
                    }
                    used[name] = value
                }
                for (output, template) in recipe.outputs.sorted(by: { $0.key < $1.key }) {
                    if let problem = SafeName.relativePathProblem(Template.render(template, variables)) {
                        return .failure(Problem(message: "output \(MessageText.quoted(output)) of \(component.name) in this cell: \(problem)", isConfigurationError: true, path: "components.\(component.name).build.outputs.\(output)"))
                    }
                }
                spec = BuildSpec(
                    component: component.name, repository: resolveRepository(source.repository), revision: Template.render(source.revision, variables),
                    command: recipe.command, outputs: recipe.outputs, opt: levelOpt, bits: levelBits, variables: used,
                    compiler: recipe.compiler, workarounds: workarounds, timeoutSeconds: recipe.timeoutSeconds ?? chain.buildTimeoutSeconds)
            }
            let boot = component.boot.map { recipe in
                LevelBoot(
                    kernel: recipe.kernel, cmdline: Template.render(level.cmdline ?? recipe.cmdline, variables), modules: recipe.modules,
                    handoff: isLast ? Component.Handoff.none.rawValue : recipe.handoff.rawValue, grubTemplate: recipe.grubTemplate)
            }
            if let boot, let problem = SafeName.commandLineProblem(boot.cmdline) {
                let path = level.cmdline != nil ? "chains.\(chain.name).levels[\(index)].cmdline" : "components.\(component.name).boot.cmdline"
                return .failure(Problem(message: "the kernel command line of \(component.name) in this cell: \(problem)", isConfigurationError: true, path: path))
            }
            if !isLast, component.kind != .hypervisor {
                return .failure(Problem(message: "level \(index) (\(component.name)) is a \(component.kind.rawValue), not a hypervisor, so nothing can run inside it", isConfigurationError: true, path: "chains.\(chain.name).levels[\(index)]"))
            }
            if !isLast, boot?.handoff == Component.Handoff.none.rawValue {
                return .failure(Problem(message: "level \(index) (\(component.name)) hands over nothing (boot.handoff is \"none\") but the chain has a level after it", isConfigurationError: true, path: "components.\(component.name).boot.handoff"))
            }
            levels.append(PlannedLevel(component: component.name, kind: component.kind.rawValue, opt: levelOpt, bits: levelBits, build: spec, imagePath: nil, boot: boot))
        }
        // Built-in validity: a 32-bit level cannot host a 64-bit one.
        for (outer, inner) in zip(levels, levels.dropFirst()) {
            if let outerBits = outer.bits, let innerBits = inner.bits, !outerBits.canHost(innerBits) {
                return .failure(Problem(message: "an \(innerBits.rawValue) level (\(inner.component)) cannot run under an \(outerBits.rawValue) level (\(outer.component))"))
            }
        }
        var cell = Cell(
            id: Cell.id(for: values), values: values, chain: chain.name, opt: opt, bits: bits, smp: smp, backend: backend, levels: levels,
            verdict: chain.verdict, bootTimeoutSeconds: chain.bootTimeoutSeconds, memoryMiB: chain.memoryMiB,
            needsVMX: chain.emulator.needsVMX ?? levels.contains { $0.kind == Component.Kind.hypervisor.rawValue },
            emulator: chain.emulator.settings(for: backend))
        cell.performance = chain.performance
        return .success(cell)
    }

    /// Relative local paths are relative to the matrix file's folder.
    func resolvePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).standardizedFileURL.path
    }

    private func resolveRepository(_ repository: String) -> String {
        if repository.contains("://") || repository.hasPrefix("git@") { return repository }
        return resolvePath(repository)
    }
}
