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
    /// `{cmdline}` and `{kernel}` are substituted as GRUB-quoted words (``quote(_:)``),
    /// so put them bare in a template, never inside quotes of its own.
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
        try Self.checkNoControlCharacters(cmdline, what: "cmdline")
        for name in [kernel].compactMap({ $0 }) + modules { try Self.checkNoControlCharacters(name, what: "boot file name") }
        if case .fileModule(let name) = handover { try Self.checkNoControlCharacters(name, what: "boot file name") }
        let kernelPath = kernel.map { Self.quote("/boot/\($0)") } ?? ""
        let moduleLines = modules.map { "module " + Self.quote("/boot/\($0)") }.joined(separator: "\n")
        let quotedCmdline = Self.quoteCommandLine(cmdline)
        let next: String
        switch handover {
        case .none: next = ""
        case .bootSectorModule: next = "module --nounzip (hd\(diskIndex + 1))+1"
        case .chainloader: next = "set root=(hd\(diskIndex + 1))\nchainloader +1"
        case .fileModule(let name): next = "module " + Self.quote("/boot/\(name)")
        }
        var load: [String] = []
        if kernel != nil { load.append("multiboot \(kernelPath) \(quotedCmdline)".trimmingTrailingSpaces) }
        if !moduleLines.isEmpty { load.append(moduleLines) }
        if !next.isEmpty { load.append(next) }
        let replacements: [(String, String)] = [
            ("{serial}", Self.serialLines), ("{load}", load.joined(separator: "\n")),
            ("{kernel}", kernelPath), ("{cmdline}", quotedCmdline), ("{modules}", moduleLines),
            ("{next}", next), ("{nextDisk}", String(diskIndex + 1)), ("{disk}", String(diskIndex)),
        ]
        var text = template ?? Self.defaultTemplate
        for (placeholder, value) in replacements { text = text.replacingOccurrences(of: placeholder, with: value) }
        // A template's menu without a timeout waits for a key nobody presses (GRUB leaves
        // `timeout` unset): the boot would only end at its deadline. A template that sets
        // one keeps it.
        if !text.contains("timeout") { text = "set timeout=0\n" + text }
        return text
    }

    /// `word` for GRUB's script lexer: bare when it is plain, otherwise in single quotes.
    /// GRUB follows the POSIX shell here (nothing expands inside `'…'`, `\'` outside
    /// quotes is a literal quote, adjacent pieces make one word), so the shell's quoting
    /// is GRUB's: `$`, `;`, `<`, `>`, `|`, `&`, `{`, `}` and quotes in a cmdline reach the
    /// kernel as text instead of being read as GRUB syntax.
    public static func quote(_ word: String) -> String { ShellQuote.quote(word) }

    /// The cmdline split on blanks, each word quoted: the kernel gets the same words,
    /// separated by single spaces, and GRUB runs none of them.
    static func quoteCommandLine(_ cmdline: String) -> String {
        cmdline.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { quote(String($0)) }.joined(separator: " ")
    }

    /// A newline would end the `multiboot` line and start a GRUB command of the matrix's
    /// choosing; other control characters have no use in a cmdline.
    static func checkNoControlCharacters(_ value: String, what: String) throws {
        guard let bad = value.unicodeScalars.first(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7f }) else { return }
        throw GrubDiskError(
            .badTemplate,
            "\(what) \"\(ShellQuote.comment(value))\" contains the control character \(String(format: "0x%02x", bad.value)), which would end a grub.cfg line; remove it")
    }
}

extension String {
    fileprivate var trimmingTrailingSpaces: String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
