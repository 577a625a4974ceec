/// Why a GRUB disk could not be built. All of these are the harness's fault (a missing
/// tool, a missing input file, a full disk), so a cell that hits one is INFRA, not FAIL.
public struct GrubDiskError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case missingTool, missingInput, badBootImage, toolFailed, coreTooLarge, io, badTemplate
    }

    public var code: Code
    /// What went wrong and what to do about it.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "GRUB disk: \(message)" }
}
