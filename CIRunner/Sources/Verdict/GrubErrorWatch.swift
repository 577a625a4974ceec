import Foundation

/// Recognises GRUB's own `error:` lines on the serial console while GRUB, not a kernel,
/// is printing: a file GRUB cannot find, a grub.cfg syntax error, a bad command. GRUB then
/// drops to its prompt and waits for a keyboard nobody has, so without this the cell is a
/// TIMEOUT after the full deadline instead of an immediate INFRA naming GRUB's message.
///
/// GRUB is printing from the start of the boot (the BIOS writes nothing to COM1) and again
/// from each disk's `nestci: disk N: GRUB starting` echo (the default grub.cfg's first
/// line), until the first line GRUB would not print: that is the kernel's, and from then
/// on an `error:` line is the guest's own business.
struct GrubErrorWatch: Sendable {
    private(set) var grubPrinting = true

    /// Feeds one cleaned serial line; returns GRUB's error line when this is one.
    mutating func observe(_ line: String) -> String? {
        if line.hasPrefix("nestci: disk "), line.hasSuffix(": GRUB starting") {
            grubPrinting = true
            return nil
        }
        guard grubPrinting else { return nil }
        // GRUB's grub_print_error(): "error: <message>." on a line of its own.
        if line.hasPrefix("error: ") { return line }
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if !(trimmed.isEmpty || Self.grubLines.contains(where: { trimmed.hasPrefix($0) })) { grubPrinting = false }
        return nil
    }

    /// Other lines GRUB prints around its errors (before its prompt, in rescue mode).
    static let grubLines = ["Welcome to GRUB!", "GNU GRUB", "Press any key to continue", "grub>", "grub rescue>", "Entering rescue mode", "Minimal BASH-like"]
}
