import Foundation
import Hypervisor
import Matrix

/// A way to boot a ``BootPlan``: qemu (KVM or TCG) or Bochs. Backends only describe the
/// process to run and write its configuration into the cell folder; ``BootRunner``
/// starts, watches and stops it.
public protocol Emulator: Sendable {
    var backend: Backend { get }
    /// Writes any configuration the emulator needs into `folder` and returns the process
    /// to start. Throws ``EmulatorError`` when the plan cannot run on this backend.
    func prepare(_ plan: BootPlan, in folder: String) throws -> EmulatorInvocation
}

/// The process to start for one boot, and where its evidence goes.
public struct EmulatorInvocation: Sendable {
    public var process: ProcessSpec
    /// The guest's COM1, written by the emulator as the guest prints.
    public var serialLog: String
    /// Where the runner keeps the emulator's own stdout and stderr.
    public var emulatorLog: String
    /// The emulator's internal log (Bochs' `log:` file), if it has one.
    public var backendLog: String?
    /// Generated configuration files (bochsrc, debugger commands), kept as evidence.
    public var configFiles: [String]

    public init(process: ProcessSpec, serialLog: String, emulatorLog: String, backendLog: String? = nil, configFiles: [String] = []) {
        self.process = process
        self.serialLog = serialLog
        self.emulatorLog = emulatorLog
        self.backendLog = backendLog
        self.configFiles = configFiles
    }
}

/// An emulator's configuration for one boot, not yet written: the files to write (bochsrc,
/// debugger commands) and the process to start.
public struct EmulatorConfiguration: Sendable {
    public var invocation: EmulatorInvocation
    /// Path (in the boot's folder) and content of each generated file.
    public var files: [(path: String, text: String)]

    public init(invocation: EmulatorInvocation, files: [(path: String, text: String)] = []) {
        self.invocation = invocation
        self.files = files
    }
}

/// A plan this backend cannot run. The harness's problem (INFRA), never the guest's.
public struct EmulatorError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case tooManyDisks, unsupportedFormat, badPath, io
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

/// The default backend implementations.
public enum Emulators {
    /// The emulator for `backend` with default binaries.
    public static func emulator(for backend: Backend) -> any Emulator {
        switch backend {
        case .qemuKVM, .qemuTCG: QemuEmulator(backend: backend)
        case .bochs: BochsEmulator()
        }
    }

    /// The configuration the default emulator of `plan`'s backend would use in `folder`,
    /// without writing anything: the same text and argv a real boot gets, so reproduce.sh
    /// carries every emulator setting of the cell.
    public static func configuration(for plan: BootPlan, in folder: String) throws -> EmulatorConfiguration {
        switch plan.backend {
        case .bochs: return try BochsEmulator().configuration(plan, in: folder)
        case .qemuKVM, .qemuTCG: return EmulatorConfiguration(invocation: try QemuEmulator(backend: plan.backend).prepare(plan, in: folder))
        }
    }

    static func path(_ folder: String, _ name: String) -> String { (folder as NSString).appendingPathComponent(name) }
}
