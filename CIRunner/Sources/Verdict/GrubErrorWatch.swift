import Foundation

/// Recognises on the serial console that GRUB, not a kernel, gave up: a file it cannot
/// find, a grub.cfg syntax error, a bad command, and then `boot` without a kernel. GRUB
/// drops to its prompt and waits for a keyboard nobody has, so without this the cell is a
/// TIMEOUT after the full deadline instead of an immediate INFRA quoting GRUB's messages.
///
/// Not every `error:` line is fatal: GRUB prints `error: Can't get controller info..` on
/// every qemu boot and goes on, and a bad command in a template is skipped. So GRUB's
/// errors are collected while GRUB is printing and decide only when GRUB shows it gave up:
/// `error: you need to load the kernel first.` (the `boot` command failed), its shell's
/// banner, or rescue mode.
///
/// GRUB is printing from the start of the boot (the BIOS writes nothing to COM1) and again
/// from each disk's `nestci: disk N: GRUB starting` echo (the default grub.cfg's first
/// line), until the first line GRUB would not print: that is the kernel's, and from then
/// on `error:` lines are the guest's own business.
struct GrubErrorWatch: Sendable {
    private(set) var grubPrinting = true
    private var errors: [String] = []

    /// Feeds one cleaned serial line; returns GRUB's messages when GRUB gave up on this line.
    mutating func observe(_ line: String) -> String? {
        if line.hasPrefix("nestci: disk "), line.hasSuffix(": GRUB starting") {
            grubPrinting = true
            errors = []
            return nil
        }
        guard grubPrinting else { return nil }
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        // GRUB's grub_print_error(): "error: <message>." on a line of its own.
        if line.hasPrefix("error: ") {
            if errors.count < 8 { errors.append(line) }
            return line.contains(Self.bootFailed) ? message(nil) : nil
        }
        if Self.gaveUp.contains(where: { trimmed.hasPrefix($0) }) { return message(trimmed) }
        if !trimmed.isEmpty, !Self.alsoGrub.contains(where: { trimmed.hasPrefix($0) }) { grubPrinting = false }
        return nil
    }

    private func message(_ line: String?) -> String {
        errors.isEmpty ? "GRUB stopped at its prompt (\(line ?? "")) before starting a kernel" : errors.joined(separator: " ")
    }

    /// `boot` with nothing loaded: the kernel will not start.
    static let bootFailed = "you need to load the kernel first"
    /// GRUB's shell or rescue mode: it will wait for a keyboard.
    static let gaveUp = ["GNU GRUB  version", "Minimal BASH-like line editing", "grub rescue>", "Entering rescue mode"]
    /// Other lines GRUB prints around its errors.
    static let alsoGrub = ["Welcome to GRUB!", "Press any key to continue", "grub>"]
}
