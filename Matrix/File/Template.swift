/// `{name}` placeholders in build commands, output paths, command lines and GRUB configs.
/// `{{` and `}}` stand for literal braces (shell code such as `${x}` stays untouched
/// because a placeholder name must start right after `{` with a letter or `_`).
public enum Template {
    /// Names used in `template`, in order of first use.
    public static func placeholders(in template: String) -> [String] {
        var names: [String] = []
        scan(template) { name in
            if !names.contains(name) { names.append(name) }
            return nil
        }
        return names
    }

    /// `template` with each placeholder replaced by `values[name]`; unknown names stay as written.
    public static func render(_ template: String, _ values: [String: String]) -> String {
        scan(template) { values[$0] }
    }

    @discardableResult
    private static func scan(_ template: String, _ replacement: (String) -> String?) -> String {
        var output = ""
        var index = template.startIndex
        while index < template.endIndex {
            let character = template[index]
            let previous = index > template.startIndex ? template[template.index(before: index)] : nil
            if character == "{", previous != "$", let close = template[index...].firstIndex(of: "}") {
                let name = template[template.index(after: index)..<close]
                if let first = name.first, first.isLetter || first == "_", name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) {
                    output += replacement(String(name)) ?? String(template[index...close])
                    index = template.index(after: close)
                    continue
                }
            }
            output.append(character)
            index = template.index(after: index)
        }
        return output
    }
}
