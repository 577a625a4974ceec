import Foundation
import Matrix

/// `nestci __store-stress STORE N`: a test helper, not a user command. Writes N synthetic
/// cells into a new run slowly, the way the scheduler does (serial log streamed, the other
/// files atomically, then `recordCell`), so a test can SIGKILL it mid-run and check that the
/// store survives. Prints `run <id>` first and `recorded <n> <cell>` after each cell.
enum StoreStressCommand {
    static let spec = CommandSpec(
        name: "__store-stress", summary: "(test helper) write N cells slowly into STORE, to be killed by the crash test",
        arguments: [.init("STORE", help: "store folder"), .init("N", help: "how many cells")],
        options: [.init("delay-ms", value: "MS", help: "pause between serial-log chunks (default 5)")])

    static let entry = CommandEntry(spec) { arguments, console in
        guard let count = Int(arguments.positionals[1]), count > 0 else {
            throw UsageError("N must be a positive number", command: spec)
        }
        let delay = try arguments.int("delay-ms", in: 0...10_000, command: spec) ?? 5
        let store = try ArtifactStore(root: arguments.positionals[0])
        let runID = ArtifactStore.newRunID()
        let cells = (0..<count).map { index in
            SyntheticCell.result(
                values: ["chain": "stress", "opt": index % 2 == 0 ? "O0" : "O3", "bits": "i386", "smp": "1", "backend": "bochs", "n": String(index / 2)],
                outcome: index % 3 == 2 ? .fail : .pass, reason: "synthetic cell \(index)")
        }
        try await store.beginRun(
            id: runID, matrix: "stress", matrixPath: "/dev/null", trigger: "store crash test", hostJSON: #"{"hostname":"stress"}"#,
            cellIDs: cells.map(\.cellID))
        console.print("run \(runID)")
        for (index, cell) in cells.enumerated() {
            let folder = store.layout.cell(runID, cell.cellID)
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            // Streamed like an emulator's serial file: a kill can leave it half written.
            let serial = "\(folder)/\(RunLayout.serialLog)"
            _ = FileManager.default.createFile(atPath: serial, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: serial))
            for chunk in 0..<8 {
                try handle.write(contentsOf: Data(String(repeating: "CPU(0x00): cell \(index) chunk \(chunk) line\n", count: 400).utf8))
                if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
            }
            let link = cell.outcome == .pass ? "0xffffffffffffffff" : "0x0000000000000000"
            try handle.write(contentsOf: Data(SyntheticCell.vmcsText(linkPointer: link).utf8))
            try handle.close()
            try AtomicFile.write(try VMCSDumpParser.parse(contentsOf: serial).jsonData(), to: "\(folder)/\(RunLayout.vmcsFile)")
            try AtomicFile.writeJSON(["rule": cell.rule, "reason": cell.reason], to: "\(folder)/\(RunLayout.verdictFile)")
            try AtomicFile.write("#!/bin/sh\necho reproduce \(cell.cellID)\n", to: "\(folder)/\(RunLayout.reproduceScript)")
            try await store.recordCell(runID: runID, result: cell)
            console.print("recorded \(index + 1) \(cell.cellID)")
        }
        let results = RunResults(runID: runID, matrix: "stress", started: Date(), finished: Date(), cells: cells)
        try await store.finishRun(id: runID, results: results)
        console.print("finished \(runID)")
        return .success
    }
}

/// Cell results without a matrix, for the stress helper and tests. `CellResult` is built from
/// a `Cell`; its Codable form is the only other public door, so go through it.
enum SyntheticCell {
    static func result(
        values: [String: String], outcome: Outcome, rule: String? = nil, reason: String = "", line: Int? = nil,
        commits: [String: String] = [:]
    ) -> CellResult {
        var object: [String: Any] = [
            "cellID": Cell.id(for: values), "chain": values["chain"] ?? "chain",
            "levels": "\(values["chain"] ?? "chain") \(values["opt"] ?? "O0")/\(values["bits"] ?? "i386")",
            "values": values, "backend": values["backend"] ?? "bochs", "smp": Int(values["smp"] ?? "1") ?? 1,
            "outcome": outcome.rawValue, "rule": rule ?? (outcome == .pass ? "pass" : "halt"), "reason": reason,
            "bootSeconds": 1.5, "commits": commits, "buildKeys": [] as [String], "attempts": 1, "artifacts": [:] as [String: String],
        ]
        if let line { object["line"] = line }
        let data = try! JSONSerialization.data(withJSONObject: object)
        return try! JSONDecoder().decode(CellResult.self, from: data)
    }

    /// A minivisor-style dump (VMCS01 of CPU 0, before the first VM entry) with a given link pointer.
    static func vmcsText(linkPointer: String, extra: String = "") -> String {
        """
        minivisor v1.0
        CPU(0x00): VMXON ok, VMCS revision 0x00000001
        CPU(0x00): VMCS dump before first VM entry
        CPU(0x00): (0x4000) VMCS01.control_VMX_pin_based = 0x00000016
        CPU(0x00): (0x2010) VMCS01.control_TSC_offset = 0x000000000000\(String(Int.random(in: 0x1000...0xffff), radix: 16))
        CPU(0x00): (0x2800) VMCS01.guest_VMCS_link_pointer_full = \(linkPointer)
        CPU(0x00): (0x6c14) VMCS01.host_RSP = 0x00000000001\(String(Int.random(in: 0x10000...0xfffff), radix: 16))
        \(extra)CPU(0x00): minivisor test iter 1

        """
    }
}
