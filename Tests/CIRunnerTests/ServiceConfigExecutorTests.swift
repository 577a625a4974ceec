import Foundation
import Matrix
import Testing

@testable import CIRunner

/// The service config's `"executor"` (local by default, or Slurm with its options).
@Suite("Service config: executor")
struct ServiceConfigExecutorTests {
    static let matrices = "\"matrices\": [{\"path\": \"matrices/demo.json\", \"schedule\": {\"daily\": \"02:30\"}}]"

    @Test("absent or \"local\" is local; \"slurm\" and the object form give the Slurm options")
    func choices() throws {
        let folder = try ServiceConfigTests.Folder()
        defer { folder.remove() }
        #expect(try ServiceConfig.load(path: folder.write("{\(Self.matrices)}")).executor == .local)
        #expect(try ServiceConfig.load(path: folder.write("{\(Self.matrices), \"executor\": \"local\"}")).executor == .local)
        #expect(try ServiceConfig.load(path: folder.write("{\(Self.matrices), \"executor\": \"slurm\"}")).executor == .slurm(SlurmOptions()))
        let config = try ServiceConfig.load(path: folder.write("""
            {\(Self.matrices), "executor": {"kind": "slurm", "partition": "vmx", "account": "lab", "spool": "spool",
              "constraints": {"qemu-kvm": "vmx_host", "bochs": "big"}, "cellsPerTask": 4}}
            """))
        guard case .slurm(let slurm) = config.executor else { Issue.record("expected slurm"); return }
        #expect(slurm.partition == "vmx" && slurm.account == "lab")
        #expect(slurm.spool == folder.url.appendingPathComponent("spool").standardizedFileURL.path)
        #expect(slurm.constraints == [.qemuKVM: "vmx_host", .bochs: "big"])
        #expect(slurm.cellsPerTask == 4)
    }

    @Test("bad executor settings are errors naming the key")
    func errors() throws {
        let folder = try ServiceConfigTests.Folder()
        defer { folder.remove() }
        let unknown = try ServiceConfigTests.issues("{\(Self.matrices), \"executor\": \"k8s\"}", in: folder)
        #expect(unknown.contains { $0.path == "executor" && $0.message.contains("expected local or slurm") })
        let backend = try ServiceConfigTests.issues("{\(Self.matrices), \"executor\": {\"kind\": \"slurm\", \"constraints\": {\"kvm\": \"x\"}}}", in: folder)
        #expect(backend.contains { $0.path.hasPrefix("executor.constraints") && $0.message.contains("unknown backend") })
        let partition = try ServiceConfigTests.issues("{\(Self.matrices), \"executor\": {\"kind\": \"slurm\", \"partition\": \"a b;rm\"}}", in: folder)
        #expect(partition.contains { $0.path == "executor.partition" })
        let perTask = try ServiceConfigTests.issues("{\(Self.matrices), \"executor\": {\"kind\": \"slurm\", \"cellsPerTask\": 0}}", in: folder)
        #expect(perTask.contains { $0.path == "executor.cellsPerTask" }, "\(perTask)")
    }
}
