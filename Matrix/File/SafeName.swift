/// Rules for text from a matrix file that ends up in a path or on a boot command line,
/// checked at plan time so that nothing nestci writes lands outside its store and no
/// value can add lines to a grub.cfg.
public enum SafeName {
    /// Longest name accepted, in characters (a path component is at most 255 bytes).
    public static let maxLength = 100

    /// What is wrong with `name` as a folder or file name part, or `nil`.
    ///
    /// Component, chain, matrix and output names become parts of store paths
    /// (`level0-NAME/build.log`, `outputs/NAME/`), so they are limited to ASCII letters,
    /// digits and `. _ + - @`, do not start with `.` or `-`, and are not empty.
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "an empty name (give it a name such as \"xmhf64\")" }
        if name.unicodeScalars.count > maxLength { return "a name longer than \(maxLength) characters" }
        if let bad = name.unicodeScalars.first(where: { !isAllowed($0) }) {
            return "\(MessageText.quoted(name)) contains \(describe(bad)); names are used in store paths, so use ASCII letters, digits and . _ + - @ only"
        }
        if name.hasPrefix(".") || name.hasPrefix("-") {
            return "\(MessageText.quoted(name)) starts with \"\(name.first!)\"; names are used in store paths, so start with a letter or digit"
        }
        return nil
    }

    /// What is wrong with a relative path inside a worktree (an expanded output path),
    /// or `nil`: it must not be absolute or climb out with `..`.
    public static func relativePathProblem(_ path: String) -> String? {
        if path.isEmpty { return "an empty path" }
        if let bad = path.unicodeScalars.first(where: MessageText.needsEscape) {
            return "\(MessageText.quoted(path)) contains \(describe(bad))"
        }
        if path.hasPrefix("/") { return "\(MessageText.quoted(path)) is absolute; outputs are paths inside the build's worktree" }
        if path.split(separator: "/").contains("..") {
            return "\(MessageText.quoted(path)) climbs out of the worktree with \"..\"; outputs are paths inside the build's worktree"
        }
        return nil
    }

    /// What is wrong with a value that goes onto a GRUB or kernel command line, or `nil`:
    /// a newline would end the `multiboot` line and start a GRUB command of the file's
    /// choosing; other control characters confuse GRUB's parser.
    public static func commandLineProblem(_ text: String) -> String? {
        guard let bad = text.unicodeScalars.first(where: MessageText.needsEscape) else { return nil }
        return "\(MessageText.quoted(text)) contains \(describe(bad)), which would end the GRUB command line (write the arguments on one line, without control characters)"
    }

    /// What is wrong with an axis value, or `nil`: no control characters, since values
    /// reach build commands, file names and reports.
    public static func valueProblem(_ text: String) -> String? {
        guard let bad = text.unicodeScalars.first(where: MessageText.needsEscape) else { return nil }
        return "\(MessageText.quoted(text)) contains \(describe(bad)); axis values reach build commands, paths and reports, so control characters are not allowed"
    }

    private static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", ".", "_", "+", "-", "@": return true
        default: return false
        }
    }

    private static func describe(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "/": return "\"/\""
        case " ": return "a space"
        default:
            if MessageText.needsEscape(scalar) { return "a control character (\(MessageText.escaped(String(scalar))))" }
            return "\"\(MessageText.escaped(String(scalar)))\""
        }
    }
}
