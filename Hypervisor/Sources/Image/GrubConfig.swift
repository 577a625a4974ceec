import Foundation

/// The `grub.cfg` of one chain level, rendered from a template.
///
/// The default template puts GRUB itself on COM1 (so the serial log shows what GRUB did
/// when a level never starts), loads the level's multiboot kernel and modules, hands the
/// next level over the way the level says, and boots without a menu.
public struct GrubConfig: Sendable, Hashable, Codable {
    /// How a level passes control to the level after it (the next disk in the chain).
    public enum Handover: Sendable, Hashable, Codable {
        /// Nothing after this level: the last disk of a chain.
        case none
        /// XMHF64's way: the next disk's boot sector as a multiboot module
        /// (`module --nounzip (hd<N+1>)+1`); the hypervisor boots it as its guest.
        case bootSectorModule
        /// GRUB chain-loads the next disk itself (`set root=(hd<N+1>)`, `chainloader +1`);
        /// only for levels without a kernel of their own.
        case chainloader
        /// A file on this disk passed as an extra module (a guest kernel image).
        case fileModule(String)
    }

    /// Logical name of the multiboot kernel under `/boot`, nil for a pure chain level.
    public var kernel: String?
    public var cmdline: String
    /// Logical names under `/boot` passed as multiboot modules, in order.
    public var modules: [String]
    public var handover: Handover
    /// This level's disk index: disk N is BIOS drive 0x80+N and GRUB's `(hdN)`.
    public var diskIndex: Int
    /// A custom template; nil uses ``defaultTemplate``. Placeholders: `{serial}`,
    /// `{kernel}` (`/boot/<name>`), `{cmdline}`, `{modules}` (one `module` line each),
    /// `{next}` (the hand-over lines), `{load}` (multiboot + modules + next),
    /// `{disk}` (N), `{nextDisk}` (N+1). GRUB's own `${var}` syntax is left alone.
    public var template: String?

    public init(
        kernel: String?, cmdline: String = "", modules: [String] = [], handover: Handover = .none,
        diskIndex: Int = 0, template: String? = nil
    ) {
        self.kernel = kernel
        self.cmdline = cmdline
        self.modules = modules
        self.handover = handover
        self.diskIndex = diskIndex
        self.template = template
    }

    /// GRUB on COM1 at 115200 8n1, input and output, so nothing waits for a keyboard.
    public static let serialLines = """
        serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1
        terminal_input serial
        terminal_output serial
        """

    /// Top-level commands rather than a menu entry: no menu is drawn, nothing to time out.
    public static let defaultTemplate = """
        {serial}
        set timeout=0
        echo "nestci: disk {disk}: GRUB starting"
        {load}
        boot

        """

    /// The rendered file text.
    public func render() throws -> String {
        if kernel != nil, handover == .chainloader {
            throw GrubDiskError(
                .badTemplate,
                "disk \(diskIndex): a level with a kernel cannot hand over by chainloader (GRUB boots one or the other); use bootSectorModule or drop the kernel")
        }
        if kernel == nil, !modules.isEmpty {
            throw GrubDiskError(.badTemplate, "disk \(diskIndex): modules \(modules) given without a kernel to load them")
        }
        let kernelPath = kernel.map { "/boot/\($0)" } ?? ""
        let moduleLines = modules.map { "module /boot/\($0)" }.joined(separator: "\n")
        let next: String
        switch handover {
        case .none: next = ""
        case .bootSectorModule: next = "module --nounzip (hd\(diskIndex + 1))+1"
        case .chainloader: next = "set root=(hd\(diskIndex + 1))\nchainloader +1"
        case .fileModule(let name): next = "module /boot/\(name)"
        }
        var load: [String] = []
        if let kernel { load.append("multiboot /boot/\(kernel) \(cmdline)".trimmingTrailingSpaces) }
        if !moduleLines.isEmpty { load.append(moduleLines) }
        if !next.isEmpty { load.append(next) }
        let replacements: [(String, String)] = [
            ("{serial}", Self.serialLines), ("{load}", load.joined(separator: "\n")),
            ("{kernel}", kernelPath), ("{cmdline}", cmdline), ("{modules}", moduleLines),
            ("{next}", next), ("{nextDisk}", String(diskIndex + 1)), ("{disk}", String(diskIndex)),
        ]
        var text = template ?? Self.defaultTemplate
        for (placeholder, value) in replacements { text = text.replacingOccurrences(of: placeholder, with: value) }
        return text
    }
}

extension String {
    fileprivate var trimmingTrailingSpaces: String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
