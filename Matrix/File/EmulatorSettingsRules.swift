import Foundation

/// What a matrix may put into an emulator's configuration, and why not the rest.
///
/// A cell's boot must stay hermetic and its reproduce.sh must run on another machine, so
/// settings may not name host files (nestci attaches disks, firmware and logs itself) and
/// may not open ports or sockets (a VNC, gdb or network listener on a shared CI host is
/// reachable by anyone, and two cells would fight over it). Each check returns the
/// problem in words, or nil.
public enum EmulatorSettingsRules {
    /// The why, quoted in messages.
    static let noHostPaths = "host paths are not allowed (nestci attaches disks, firmware and logs itself, and reproduce.sh must run on another machine)"
    static let noPorts = "nothing may open a port or socket (the boot must stay hermetic on a shared host)"

    /// Words that make a listener or a socket, in any qemu argument or bochsrc line.
    static let portWords = ["tcp:", "udp:", "telnet", "unix:", "socket", "websocket", "vnc", "spice", "listen", "gdb"]

    /// qemu options nestci owns or that break the boot, with why.
    static let qemuOptions: [(names: [String], why: String)] = [
        (["serial", "parallel", "monitor", "qmp", "qmp-pretty", "mon", "chardev", "gdb", "s", "netdev", "nic", "net", "vnc", "spice", "display", "incoming", "usbdevice", "virtfs", "fsdev", "tpmdev", "audiodev", "audio"],
         "it opens a port or socket or takes a console nestci owns; \(noPorts)"),
        (["drive", "hda", "hdb", "hdc", "hdd", "cdrom", "fda", "fdb", "kernel", "initrd", "append", "dtb", "bios", "L", "pflash", "mtdblock", "sd", "blockdev", "add-fd"],
         "it attaches host files; nestci attaches the chain's disks itself"),
        (["D", "pidfile", "daemonize", "readconfig", "writeconfig", "plugin", "loadvm", "chroot", "runas", "trace", "object"],
         "it reads or writes host files or detaches qemu from nestci's supervision"),
        (["cpu", "machine", "M", "accel", "enable-kvm", "smp", "m", "nodefaults", "no-reboot"],
         "nestci sets it: use the \"cpu\" and \"machine\" keys, the smp axis, the chain's memory and backend"),
        (["S"], "it freezes the CPU at start, so the boot could only time out (reproduce.sh --gdb does this for a person)"),
    ]

    /// bochsrc directives a matrix may add: CPU features, clock, devices without host
    /// files or sockets, and log actions.
    public static let bochsDirectives = [
        "cpu", "cpuid", "clock", "pci", "vga", "keyboard", "mouse", "ata0", "ata1", "ata2", "ata3",
        "magic_break", "port_e9_hack", "print_timestamps", "logprefix", "panic", "error", "info", "debug",
    ]

    /// A qemu `-cpu` or `-machine` value: a name and `,key=value` properties.
    public static func qemuValueProblem(_ value: String, key: String) -> String? {
        guard !value.isEmpty else { return "an empty \(key) (leave the key out for the default)" }
        if let problem = commonProblem(value) { return problem }
        guard value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.,=+-".contains($0)) }) else {
            return "\"\(value)\" is not a qemu \(key) value (a model name and ,property=value options, e.g. \"Haswell,vmx=yes\")"
        }
        if value.contains("file=") || value.contains("path=") { return "\"\(value)\": \(noHostPaths)" }
        return nil
    }

    /// A Bochs `cpu: model=` name.
    public static func bochsCPUProblem(_ value: String) -> String? {
        guard !value.isEmpty, value.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) else {
            return "\"\(value)\" is not a Bochs CPU model name (e.g. corei7_skylake_x; `bochs-bin --help cpu` lists them)"
        }
        return nil
    }

    /// One extra qemu argument (one argv element).
    public static func qemuArgumentProblem(_ argument: String) -> String? {
        guard !argument.isEmpty else { return "an empty argument (remove it)" }
        if let problem = commonProblem(argument) { return problem }
        for word in ["file=", "path=", "chardev=", "netdev="] where argument.contains(word) {
            return "\"\(argument)\" uses \(word): \(word == "file=" || word == "path=" ? noHostPaths : noPorts)"
        }
        if argument.hasPrefix("-") {
            // qemu takes -opt and --opt alike.
            let name = String(argument.drop { $0 == "-" })
            if let rule = qemuOptions.first(where: { $0.names.contains(name) }) {
                return "\(argument) is not allowed: \(rule.why)"
            }
        }
        return nil
    }

    /// One extra bochsrc line.
    public static func bochsLineProblem(_ line: String) -> String? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        // A comment is harmless, but a line break would smuggle in a second line.
        if trimmed.isEmpty || trimmed.hasPrefix("#") { return controlCharacterProblem(line) }
        if let problem = commonProblem(line) { return problem }
        guard let colon = trimmed.firstIndex(of: ":") else {
            return "\"\(line)\" is not a bochsrc line (expected \"directive: options\", e.g. \"cpuid: x2apic=1\")"
        }
        let directive = trimmed[..<colon].trimmingCharacters(in: .whitespaces)
        guard bochsDirectives.contains(directive) else {
            let why = ["com1", "com2", "com3", "com4", "parallel1", "parallel2", "gdbstub", "ne2k", "pnic", "e1000", "display_library"].contains(directive)
                ? noPorts : "nestci sets it, or it names host files"
            return "the \(directive) directive is not allowed: \(why) (allowed: \(bochsDirectives.joined(separator: ", ")))"
        }
        let options = trimmed[trimmed.index(after: colon)...]
        for word in ["file=", "path=", "dev=", "port=", "keymap="] where options.contains(word) {
            return "\"\(line)\" uses \(word): \(word == "port=" ? noPorts : noHostPaths)"
        }
        if directive == "cpu" {
            for word in ["model=", "count="] where options.contains(word) {
                return "\"\(line)\" sets \(word.dropLast()): use the \"cpu\" key for the model and the smp axis for the count"
            }
        }
        if directive == "pci", let device = ["ne2k", "e1000", "pnic", "usb"].first(where: { options.contains($0) }) {
            return "\"\(line)\" plugs in \(device): \(noPorts)"
        }
        return nil
    }

    /// Checks every setting of both kinds share: one line, no host path, no listener.
    static func commonProblem(_ text: String) -> String? {
        if let problem = controlCharacterProblem(text) { return problem }
        if text.contains("/") || text.contains("\\") || text.hasPrefix("~") { return "\"\(text)\": \(noHostPaths)" }
        let lowered = text.lowercased()
        if let word = portWords.first(where: { lowered.contains($0) }) { return "\"\(text)\" mentions \(word): \(noPorts)" }
        return nil
    }

    static func controlCharacterProblem(_ text: String) -> String? {
        guard text.contains(where: { $0.isNewline || ($0.asciiValue.map { $0 < 0x20 && $0 != 0x09 } ?? false) }) else { return nil }
        return "a setting may not contain a line break or control character (give each line or argument as its own string)"
    }
}
