extension MatrixFileDecoder {
    static let emulatorKeys = ["needsVMX", "bochs", "qemu", "qemu-kvm", "qemu-tcg"]
    static let bochsSettingsKeys = ["cpu", "lines"]
    static let qemuSettingsKeys = ["cpu", "machine", "args"]

    /// A chain's `emulator` object:
    ///
    ///     "emulator": {"bochs": {"cpu": "corei7_haswell_4770", "lines": ["cpuid: x2apic=1"]},
    ///                  "qemu": {"cpu": "Westmere", "machine": "q35", "args": ["-rtc", "base=utc"]},
    ///                  "needsVMX": true}
    ///
    /// Every value is checked by ``EmulatorSettingsRules`` and reported with its JSON path.
    func decodeEmulator(_ object: ObjectReader?) -> ChainEmulator {
        var result = ChainEmulator()
        guard let object else { return result }
        object.rejectUnknownKeys(Self.emulatorKeys, what: "emulator settings")
        result.needsVMX = object.bool("needsVMX")
        result.bochs = object.object("bochs").map { bochs in
            bochs.rejectUnknownKeys(Self.bochsSettingsKeys, what: "Bochs settings")
            return EmulatorSettings(
                cpu: checked(bochs, "cpu", EmulatorSettingsRules.bochsCPUProblem),
                extra: checkedList(bochs, "lines", EmulatorSettingsRules.bochsLineProblem))
        }
        func qemu(_ key: String) -> EmulatorSettings? {
            object.object(key).map { qemu in
                qemu.rejectUnknownKeys(Self.qemuSettingsKeys, what: "qemu settings")
                return EmulatorSettings(
                    cpu: checked(qemu, "cpu") { EmulatorSettingsRules.qemuValueProblem($0, key: "-cpu") },
                    machine: checked(qemu, "machine") { EmulatorSettingsRules.qemuValueProblem($0, key: "-machine") },
                    extra: checkedList(qemu, "args", EmulatorSettingsRules.qemuArgumentProblem))
            }
        }
        result.qemu = qemu("qemu")
        result.qemuKVM = qemu("qemu-kvm")
        result.qemuTCG = qemu("qemu-tcg")
        return result
    }

    private func checked(_ object: ObjectReader, _ key: String, _ problem: (String) -> String?) -> String? {
        guard let value = object.string(key) else { return nil }
        if let message = problem(value) {
            diagnostics.report(object.childPath(key), object[key], message)
            return nil
        }
        return value
    }

    private func checkedList(_ object: ObjectReader, _ key: String, _ problem: (String) -> String?) -> [String] {
        (object.array(key) ?? []).compactMap { path, value in
            guard let text = ValueReader.string(value, path: path, diagnostics: diagnostics) else { return nil }
            if let message = problem(text) {
                diagnostics.report(path, value, message)
                return nil
            }
            return text
        }
    }
}
