import Foundation

/// `nestci vmcs diff A B` and `nestci vmcs show X`: the seed bug's workflow, comparing the
/// VMCS dump of a good run with the bad one, from files or straight from the store.
enum VMCSCommand {
    static let spec = CommandSpec(
        name: "vmcs", summary: "diff or show VMCS dumps from serial logs, vmcs.json files or RUN/CELL[#n]",
        discussion: """
            nestci vmcs diff A B   fields that differ between a dump of A (before) and of B (after), grouped
                                   as controls, guest state, host state, exit information
            nestci vmcs show X     the dumps of X as tables

            A, B and X are vmcs.json files, serial logs (parsed on the fly), or store references RUN/CELL;
            #n picks the n-th dump (FILE#n or RUN/CELL#n), counted among the dumps --cpu and --kind allow.
            By default the first dump of A is compared with the first dump of the same VMCS kind in B.
            Fields that differ between any two runs (TSC offset, host RSP, host bases, ...) are hidden
            unless --no-mask.
            """,
        arguments: [
            .init("ACTION", help: "diff or show"),
            .init("INPUT", variadic: true, help: "diff: A B; show: X"),
        ],
        options: [
            CommonOptions.store,
            .init("no-mask", help: "also show fields that differ in every run (TSC offset, host RSP, ...)"),
            .init("cpu", value: "N", help: "only dumps of this CPU (the number in CPU(0x..))"),
            .init("kind", value: "KIND", help: "only dumps of this VMCS: 01, 02 or 12"),
            .init("json", help: "print JSON for machines"),
        ])

    static let entry = CommandEntry(spec) { arguments, console in
        let action = arguments.positionals[0]
        let inputs = Array(arguments.positionals.dropFirst())
        var selection = VMCSDumpSelection()
        if let cpu = try arguments.int("cpu", in: 0...0xffff, command: spec) { selection.cpu = UInt32(cpu) }
        if let kind = arguments.value("kind") {
            let normalized = kind.uppercased().hasPrefix("VMCS") ? kind.uppercased() : "VMCS" + kind
            guard let parsed = VMCSKind(rawValue: normalized) else {
                throw UsageError("--kind \(kind): expected 01, 02 or 12", command: spec)
            }
            selection.kind = parsed
        }
        let storePath = CommonOptions.storePath(arguments)
        switch action {
        case "diff":
            guard inputs.count == 2 else {
                throw UsageError("vmcs diff takes two inputs, A (the good run) and B (the bad one); got \(inputs.count)", command: spec)
            }
            let before = try await load(inputs[0], storePath: storePath)
            let after = try await load(inputs[1], storePath: storePath)
            var first = selection
            first.index = (before.dumpNumber ?? 1) - 1
            var second = selection
            second.index = (after.dumpNumber ?? 1) - 1
            let diff: VMCSDiff
            do {
                let old = try first.pick(from: before.set, label: inputs[0])
                second.kind = old.kind
                let new = try second.pick(from: after.set, label: inputs[1])
                diff = VMCSDiff(before: old, after: new, includeMasked: arguments.flag("no-mask"))
            } catch let error as VMCSDiffError {
                throw UserError(error.message)
            }
            if arguments.flag("json") {
                console.print(try JSONOutput.encode(diff))
            } else {
                console.print("before: \(inputs[0])\nafter:  \(inputs[1])")
                console.write(diff.text)
            }
            return .success
        case "show":
            guard inputs.count == 1 else {
                throw UsageError("vmcs show takes one input (a vmcs.json, a serial log or RUN/CELL); got \(inputs.count)", command: spec)
            }
            let input = try await load(inputs[0], storePath: storePath)
            var dumps = input.set.dumps(cpu: selection.cpu, kind: selection.kind)
            if let number = input.dumpNumber {
                selection.index = number - 1
                do { dumps = [try selection.pick(from: input.set, label: inputs[0])] } catch let error as VMCSDiffError { throw UserError(error.message) }
            }
            if arguments.flag("json") {
                console.print(try JSONOutput.encode(dumps))
                return .success
            }
            guard !dumps.isEmpty else {
                console.print("\(inputs[0]): no VMCS dumps\(selection.cpu != nil || selection.kind != nil ? " of \(selection.description)" : "")")
                return .success
            }
            console.print(render(dumps))
            return .success
        default:
            let hint = DidYouMeanID.suggestion(for: action, among: ["diff", "show"]).map { " (did you mean \($0)?)" } ?? ""
            throw UsageError("unknown vmcs action \"\(action)\"\(hint); expected diff or show", command: spec)
        }
    }

    struct Input {
        var set: VMCSDumpSet
        var dumpNumber: Int?
    }

    /// A file (vmcs.json or a serial log, optionally `FILE#n`) or a store reference `RUN/CELL[#n]`.
    static func load(_ text: String, storePath: String) async throws -> Input {
        if isFile(text) { return try loadFile(text, dumpNumber: nil) }
        if let hash = text.lastIndex(of: "#"), let number = Int(text[text.index(after: hash)...]), number >= 1 {
            let path = String(text[..<hash])
            if isFile(path) { return try loadFile(path, dumpNumber: number) }
        }
        // Paths that cannot be references are files that are missing.
        if text.hasPrefix("/") || text.hasPrefix("./") || text.hasPrefix("~") { return try loadFile(text, dumpNumber: nil) }
        let reference: StoreReference
        do {
            reference = try StoreReference.parse(text)
        } catch let error as StoreError {
            throw UserError("\(text): no such file, and not a store reference either: \(error.message)", status: NestCI.exitStatus(for: error))
        }
        guard let cellID = reference.cellID else {
            throw UserError("\(text): no such file; as a store reference it names a run, and VMCS dumps belong to a cell: use RUN/CELL (`nestci show \(reference.runID)` lists them)", status: .usage)
        }
        guard FileManager.default.fileExists(atPath: RunLayout(store: storePath).database) else {
            throw UserError("\(text): no such file, and no nestci store at \(storePath) to look it up as RUN/CELL (pass --store DIR)")
        }
        let store = try ArtifactStore.openExisting(root: storePath)
        let folder = try await store.folder(for: reference)
        let json = "\(folder)/\(RunLayout.vmcsFile)"
        if StoreFiles.isRegularFile(json) { return try loadFile(json, dumpNumber: reference.dumpNumber) }
        let serial = "\(folder)/\(RunLayout.serialLog)"
        if StoreFiles.isRegularFile(serial) { return try loadFile(serial, dumpNumber: reference.dumpNumber) }
        throw UserError("\(reference.runID)/\(cellID) has neither vmcs.json nor serial.log (did the cell boot? `nestci show \(reference.runID)` says why not)")
    }

    static func loadFile(_ path: String, dumpNumber: Int?) throws -> Input {
        guard isFile(path) else {
            throw UserError("\(path): no such file")
        }
        if path.hasSuffix(".json") {
            do {
                return Input(set: try VMCSDumpSet(contentsOf: URL(fileURLWithPath: path)), dumpNumber: dumpNumber)
            } catch {
                throw UserError("\(path) is not a vmcs.json written by nestci (\(error)); pass the serial log instead", status: .dataError)
            }
        }
        return Input(set: try VMCSDumpParser.parse(contentsOf: path), dumpNumber: dumpNumber)
    }

    /// A file the user named (links allowed: it is their file, not the store's).
    static func isFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    static func render(_ dumps: [VMCSDump]) -> String {
        var blocks: [String] = []
        for dump in dumps {
            var lines = [dump.title]
            if let intro = dump.introducedBy { lines.append("  after line \(intro.number): \(intro.text)") }
            var table = TextTable(["encoding", "field (SDM)", "printed as", "value"])
            for field in dump.fields {
                table.add([VMCSField.hex(field.encoding), field.sdmName, field.prefix + field.printedName, field.value.formatted(digits: field.width.hexDigits)])
            }
            lines.append(table.rendered)
            blocks.append(lines.joined(separator: "\n"))
        }
        return blocks.joined(separator: "\n\n")
    }
}
