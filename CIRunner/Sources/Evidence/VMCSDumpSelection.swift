/// Which dump of a `VMCSDumpSet` to compare: the `index`-th (0-based) dump matching `cpu` and
/// `kind` (nil matches any). The default picks the first dump in the log.
public struct VMCSDumpSelection: Sendable, Hashable, Codable {
    public var cpu: UInt32?
    public var kind: VMCSKind?
    public var index: Int

    public init(cpu: UInt32? = nil, kind: VMCSKind? = nil, index: Int = 0) {
        self.cpu = cpu
        self.kind = kind
        self.index = index
    }

    /// The selected dump, or an error that lists what the set does have.
    public func pick(from set: VMCSDumpSet, label: String) throws -> VMCSDump {
        let candidates = set.dumps(cpu: cpu, kind: kind)
        guard index >= 0, index < candidates.count else {
            throw VMCSDiffError(message: "\(label) has \(candidates.count) dump(s) of \(description), so there is no dump #\(index + 1); "
                    + "it has: \(Self.inventory(set)) — pick another CPU, VMCS kind or index")
        }
        return candidates[index]
    }

    /// "VMCS02 of CPU 0", "any VMCS of any CPU".
    public var description: String {
        "\(kind?.rawValue ?? "VMCS") of \(cpu.map { "CPU \($0)" } ?? "any CPU")"
    }

    /// "2 × VMCS02 of CPU 0, 1 × VMCS12 of CPU 0", or "no VMCS dumps".
    static func inventory(_ set: VMCSDumpSet) -> String {
        var counts: [String: Int] = [:]
        var order: [String] = []
        for dump in set.dumps {
            let key = "\(dump.kind.rawValue) of CPU \(dump.cpu)"
            if counts[key] == nil { order.append(key) }
            counts[key, default: 0] += 1
        }
        return order.isEmpty ? "no VMCS dumps" : order.map { "\(counts[$0]!) × \($0)" }.joined(separator: ", ")
    }
}

/// Two dump sets could not be compared as asked.
public struct VMCSDiffError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
