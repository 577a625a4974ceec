/// The differences between two VMCS dumps, grouped like the SDM (controls, guest state, host
/// state, exit information), each group sorted by encoding. This is the seed bug's workflow:
/// diff the dump of a good run against the bad one and read what changed.
public struct VMCSDiff: Sendable, Hashable, Codable {
    /// Fields whose values differ between any two runs even when nothing is wrong, hidden by
    /// default so that a diff shows causes, not noise:
    ///
    /// - `0x2010` TSC offset and `0x2032` TSC multiplier: derived from the host TSC at boot.
    /// - `0x482e` VMX-preemption timer value: counts down while the guest runs.
    /// - `0x6c14` host RSP: the hypervisor's stack depth at VMLAUNCH/VMRESUME, which moves
    ///   with every change of inlining (exactly what differs between -O0 and -O3 builds).
    /// - `0x6c06`, `0x6c08`, `0x6c0a`, `0x6c0c`, `0x6c0e` host FS/GS/TR/GDTR/IDTR bases:
    ///   addresses of the hypervisor's own per-CPU data, which move with the build's layout.
    ///
    /// Host RIP (`0x6c16`) stays visible: a different exit handler address is worth seeing.
    /// Guest RSP and RIP stay visible too: guest state is where the bugs show. The high
    /// halves of masked 64-bit fields are masked with them.
    public static let defaultMask: Set<UInt16> = [0x2010, 0x2032, 0x482e, 0x6c06, 0x6c08, 0x6c0a, 0x6c0c, 0x6c0e, 0x6c14]

    /// One field that differs, or is present in only one dump.
    public struct Change: Sendable, Hashable, Codable {
        public var encoding: UInt16
        public var sdmName: String
        /// The name the hypervisor printed (the `after` dump's when both have the field).
        public var printedName: String
        public var group: VMCSFieldGroup
        public var width: VMCSFieldWidth
        /// Nil when the `before` dump lacks the field.
        public var before: VMCSValue?
        /// Nil when the `after` dump lacks the field.
        public var after: VMCSValue?
        /// True for a field in the mask (shown only with `includeMasked`).
        public var isMasked: Bool

        private enum CodingKeys: String, CodingKey {
            case encoding, sdmName, printedName, group, width, before, after, isMasked
        }

        public init(
            encoding: UInt16, sdmName: String, printedName: String, group: VMCSFieldGroup, width: VMCSFieldWidth,
            before: VMCSValue?, after: VMCSValue?, isMasked: Bool
        ) {
            self.encoding = encoding
            self.sdmName = sdmName
            self.printedName = printedName
            self.group = group
            self.width = width
            self.before = before
            self.after = after
            self.isMasked = isMasked
        }

        /// Decodes the encoding from hex ("0x401a"), as `vmcs.json` writes it.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let hex = try container.decode(String.self, forKey: .encoding)
            guard hex.hasPrefix("0x"), let encoding = UInt16(hex.dropFirst(2), radix: 16) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .encoding, in: container, debugDescription: "expected a hex encoding like \"0x401a\", found \"\(hex)\"")
            }
            self.encoding = encoding
            sdmName = try container.decode(String.self, forKey: .sdmName)
            printedName = try container.decode(String.self, forKey: .printedName)
            group = try container.decode(VMCSFieldGroup.self, forKey: .group)
            width = try container.decode(VMCSFieldWidth.self, forKey: .width)
            before = try container.decodeIfPresent(VMCSValue.self, forKey: .before)
            after = try container.decodeIfPresent(VMCSValue.self, forKey: .after)
            isMasked = try container.decode(Bool.self, forKey: .isMasked)
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(VMCSField.hex(encoding), forKey: .encoding)
            try container.encode(sdmName, forKey: .sdmName)
            try container.encode(printedName, forKey: .printedName)
            try container.encode(group, forKey: .group)
            try container.encode(width, forKey: .width)
            try container.encodeIfPresent(before, forKey: .before)
            try container.encodeIfPresent(after, forKey: .after)
            try container.encode(isMasked, forKey: .isMasked)
        }
    }

    /// The changes of one group, sorted by encoding.
    public struct Section: Sendable, Hashable, Codable {
        public var group: VMCSFieldGroup
        public var changes: [Change]
    }

    /// Which dumps were compared.
    public struct Side: Sendable, Hashable, Codable {
        public var title: String
        public var cpu: UInt32
        public var kind: VMCSKind
        public var occurrence: Int
        public var introducedBy: SourceLine?
        public var fieldCount: Int

        init(_ dump: VMCSDump) {
            title = dump.title
            cpu = dump.cpu
            kind = dump.kind
            occurrence = dump.occurrence
            introducedBy = dump.introducedBy
            fieldCount = dump.fields.count
        }
    }

    public var before: Side
    public var after: Side
    /// Non-empty sections only, in display order.
    public var sections: [Section]
    /// Differing fields that the mask covers (hidden unless `includesMasked`).
    public var maskedCount: Int
    /// SDM names of the masked fields that differ, by encoding.
    public var maskedNames: [String]
    public var includesMasked: Bool

    /// All reported changes, in display order.
    public var changes: [Change] { sections.flatMap(\.changes) }

    /// True when no reported field differs.
    public var isEmpty: Bool { sections.isEmpty }

    /// Compares two dumps field by field (by encoding).
    public init(before: VMCSDump, after: VMCSDump, mask: Set<UInt16> = VMCSDiff.defaultMask, includeMasked: Bool = false) {
        self.before = Side(before)
        self.after = Side(after)
        includesMasked = includeMasked
        let old = Dictionary(before.fields.map { ($0.encoding, $0) }, uniquingKeysWith: { $1 })
        let new = Dictionary(after.fields.map { ($0.encoding, $0) }, uniquingKeysWith: { $1 })
        var changes: [Change] = []
        var masked: [UInt16] = []
        for encoding in Set(old.keys).union(new.keys).sorted() {
            let was = old[encoding], now = new[encoding]
            guard was?.value != now?.value || (was == nil) != (now == nil) else { continue }
            let field = VMCSField(encoding: encoding)
            let isMasked = mask.contains(encoding) || (field.isHighAccess && mask.contains(encoding & ~1))
            if isMasked { masked.append(encoding) }
            if isMasked && !includeMasked { continue }
            changes.append(
                Change(
                    encoding: encoding, sdmName: field.name, printedName: (now ?? was)!.printedName, group: field.group,
                    width: field.width, before: was?.value, after: now?.value, isMasked: isMasked))
        }
        maskedCount = masked.count
        maskedNames = masked.map { VMCSField(encoding: $0).name }
        sections = Dictionary(grouping: changes, by: \.group)
            .map { Section(group: $0.key, changes: $0.value) }
            .sorted { $0.group.displayOrder < $1.group.displayOrder }
    }

    /// Compares the selected dump of `before` with the dump of `after` at the same position
    /// among dumps of the same VMCS kind (and CPU, when the selection names one). With the
    /// default selection: the first dump of the good log against the first dump of the same
    /// kind in the bad one.
    public init(
        before: VMCSDumpSet, after: VMCSDumpSet, selection: VMCSDumpSelection = VMCSDumpSelection(),
        mask: Set<UInt16> = VMCSDiff.defaultMask, includeMasked: Bool = false,
        labels: (before: String, after: String) = ("the first log", "the second log")
    ) throws {
        let old = try selection.pick(from: before, label: labels.before)
        var matching = selection
        matching.kind = old.kind
        let new = try matching.pick(from: after, label: labels.after)
        self.init(before: old, after: new, mask: mask, includeMasked: includeMasked)
    }
}
