import Foundation

/// A component's `commitURL`: `https://github.com/org/repo/commit/{commit}`, so the dashboard
/// links a commit to its page. Only http and https templates are accepted (a `javascript:`
/// link on a dashboard would run in its reader's browser).
public enum CommitURLTemplate {
    /// What is wrong with `template`, or nil.
    public static func problem(_ template: String) -> String? {
        guard template.contains("{commit}") else {
            return "a commit URL template needs {commit} where the commit goes (e.g. \"https://github.com/org/repo/commit/{commit}\")"
        }
        let sample = template.replacingOccurrences(of: "{commit}", with: "0123abcd")
        guard let url = URL(string: sample), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host?.isEmpty == false
        else {
            return "\(MessageText.quoted(template)) is not an http or https URL template (expected e.g. \"https://github.com/org/repo/commit/{commit}\")"
        }
        if template.unicodeScalars.contains(where: { $0.value < 0x21 || $0.value == 0x7f || $0 == "\"" || $0 == "<" || $0 == ">" || $0 == "\\" }) {
            return "\(MessageText.quoted(template)) holds a blank, a control character or one of \" < > \\ (write them percent-encoded)"
        }
        return nil
    }

    /// The template with `commit` in place, percent-encoded so that whatever the commit text
    /// holds stays one path segment; nil for a template that ``problem(_:)`` refuses.
    public static func url(_ template: String, commit: String) -> String? {
        guard problem(template) == nil else { return nil }
        var allowed = CharacterSet(charactersIn: "0123456789abcdefABCDEF")
        allowed.insert(charactersIn: "ghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ-._~")
        let encoded = commit.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
        return template.replacingOccurrences(of: "{commit}", with: encoded)
    }
}
