/// The part of the VMCS a field belongs to: bits 11:10 of its encoding (Intel SDM Vol. 3,
/// Appendix B; "type" in the SDM's encoding table).
public enum VMCSFieldGroup: String, Sendable, Hashable, Codable, CaseIterable {
    /// Type 0: VM-execution, VM-exit and VM-entry controls.
    case control
    /// Type 1: read-only data written by the processor on VM exit (exit reason, qualification, ...).
    case exitInformation
    /// Type 2: guest-state area.
    case guestState
    /// Type 3: host-state area.
    case hostState

    /// Decodes bits 11:10 of a field encoding; every encoding has a group.
    public init(encoding: UInt16) {
        switch (encoding >> 10) & 0b11 {
        case 0: self = .control
        case 1: self = .exitInformation
        case 2: self = .guestState
        default: self = .hostState
        }
    }

    /// Heading used in diff text.
    public var title: String {
        switch self {
        case .control: "controls"
        case .exitInformation: "exit information"
        case .guestState: "guest state"
        case .hostState: "host state"
        }
    }

    /// Order of sections in a diff: what the hypervisor set up first, what the CPU reported last.
    public var displayOrder: Int {
        switch self {
        case .control: 0
        case .guestState: 1
        case .hostState: 2
        case .exitInformation: 3
        }
    }
}
