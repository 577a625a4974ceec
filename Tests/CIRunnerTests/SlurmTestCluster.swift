import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

/// The one-node Slurm cluster of the Slurm tests (``SlurmLocalCluster``, started per test and
/// always stopped), and the small fixture matrices they run.
enum SlurmTestCluster {
    /// Runs real Slurm: root, the daemons, qemu, GRUB and the built nestci.
    static let enabled = SlurmLocalCluster.unavailableReason == nil && BootTools.qemu && NestCIBinary.path != nil
    static let reason: Comment = "needs root, slurm-wlm and munge, qemu, GRUB tools and the built nestci executable"

    /// The fixture matrix cut to `chains` at O0/i386 (one build; one cell per chain).
    static func matrix(chains: [String]) -> String {
        FixtureMatrix.matrixText
            .replacingOccurrences(of: "\"chain\": [\"pass\", \"fail\", \"smp\", \"vmcs\"]", with: "\"chain\": [\(chains.map { "\"\($0)\"" }.joined(separator: ", "))]")
            .replacingOccurrences(of: "\"opt\": [\"O0\", \"O2\"]", with: "\"opt\": [\"O0\"]")
            .replacingOccurrences(of: "\"bits\": [\"i386\", \"amd64\"]", with: "\"bits\": [\"i386\"]")
    }

    static func executor(_ cluster: SlurmLocalCluster, store: String, onEvent: @escaping @Sendable (RunEvent) -> Void = { _ in }) -> SlurmExecutor {
        SlurmExecutor(
            options: RunOptions(store: store, slots: cluster.cpus), slurm: SlurmOptions(nestci: NestCIBinary.path!, environment: cluster.environment),
            onEvent: onEvent)
    }

    /// Lines of squeue for every job of the cluster (empty: none queued or running).
    static func queue(_ cluster: SlurmLocalCluster) async throws -> [String] {
        try await cluster.client("squeue", ["--noheader", "--array", "--format=%i|%T|%r"]).split(separator: "\n").map(String.init)
    }
}
