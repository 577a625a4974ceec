import Foundation
import Matrix
import Testing

@testable import Hypervisor

@Suite("Builds: host trouble is INFRA and never cached")
struct HostTroubleTests {
    @Test("exit 127 names the missing command from the log's `not found` line and its package")
    func commandNotFound() throws {
        let dash = try #require(HostTrouble.classify(exitCode: 127, signal: nil, log: "autoreconf --install\n./autogen.sh: 2: autoreconf: not found\n"))
        #expect(dash.kind == .commandNotFound)
        #expect(dash.cause.contains("`autoreconf`") && dash.cause.contains("./autogen.sh: 2: autoreconf: not found"))
        #expect(dash.advice.contains("apt-get install autoconf and automake"))
        let bash = try #require(HostTrouble.classify(exitCode: 127, signal: nil, log: "bash: line 1: nasm: command not found"))
        #expect(bash.cause.contains("`nasm`") && bash.advice.contains("apt-get install nasm"))
        let unknown = try #require(HostTrouble.classify(exitCode: 127, signal: nil, log: "sh: 1: frobnicate: not found"))
        #expect(unknown.cause.contains("`frobnicate`") && unknown.advice.hasPrefix("install it on this host"))
        let silent = try #require(HostTrouble.classify(exitCode: 127, signal: nil, log: ""))
        #expect(silent.advice.contains("build log"))
    }

    @Test("exit 126, a full disk and a killed compiler are host trouble; a compile error is not")
    func otherKinds() throws {
        let denied = try #require(HostTrouble.classify(exitCode: 126, signal: nil, log: "sh: 1: ./autogen.sh: Permission denied"))
        #expect(denied.kind == .commandNotExecutable && denied.cause.contains("`./autogen.sh`") && denied.advice.contains("chmod +x"))
        let full = try #require(HostTrouble.classify(exitCode: 2, signal: nil, log: "x.c:1:1: fatal error: error closing /tmp/x.s: No space left on device\nmake: *** Error 1"))
        #expect(full.kind == .diskFull && full.advice.contains("free space"))
        let oom = try #require(HostTrouble.classify(exitCode: 2, signal: nil, log: "gcc: fatal error: Killed signal terminated program cc1\ncompilation terminated."))
        #expect(oom.kind == .killed && oom.advice.contains("OOM killer"))
        let signalled = try #require(HostTrouble.classify(exitCode: nil, signal: 9, log: "compiling"))
        #expect(signalled.kind == .killed && signalled.cause.contains("signal 9"))
        #expect(HostTrouble.classify(exitCode: 2, signal: nil, log: "x.c:3:1: error: expected ';'\nmake: *** [Makefile:3: x.o] Error 1") == nil)
        #expect(HostTrouble.classify(exitCode: 1, signal: nil, log: "") == nil)
    }

    /// Builds `command` with two builders in a row: both must throw host trouble and both
    /// must start the command (nothing cached), and no build of the key is left.
    private func expectHostTrouble(_ command: String, _ check: (BuildError) -> Void) async throws {
        let scratch = try Scratch("host")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let counter = scratch.path("started")
        let spec = BuildSpec.fixture(
            repository, opt: .O0, bits: .amd64, counter: counter, command: "echo x >> '\(counter.path)'; \(command)")
        for _ in 0..<2 {
            let error = await #expect(throws: BuildError.self) { try await Builder(store: scratch.path("store")).build(spec) }
            #expect(error?.code == .hostTrouble)
            if let error { check(error) }
        }
        #expect(startedCount(counter) == 2, "not cached: the second builder built again")
        let builder = Builder(store: scratch.path("store"))
        let key = try await builder.plan(spec).cacheKey
        #expect(builder.cache.read(key) == nil)
    }

    @Test("a missing make (exit 127, real sh) is INFRA naming make, and is built again next time")
    func missingMake() async throws {
        try await expectHostTrouble("PATH=/nonexistent; make -j{jobs}") { error in
            #expect(error.message.hasPrefix("build command exit 127: the build needs `make`"), "\(error.message)")
            #expect(error.message.contains("apt-get install make") && error.message.hasSuffix("(not cached)"))
        }
    }

    @Test("XMHF64's ./autogen.sh without autoreconf is INFRA naming autoreconf")
    func missingAutoreconf() async throws {
        let script = "printf '#!/bin/sh\\nPATH=/nonexistent\\nautoreconf --install\\n' > autogen.sh; chmod +x autogen.sh; ./autogen.sh"
        try await expectHostTrouble(script) { error in
            #expect(error.message.contains("`autoreconf`") && error.message.contains("autoconf and automake"), "\(error.message)")
        }
    }

    @Test("gcc writing to a full disk (real ENOSPC from /dev/full) is INFRA 'disk filled up'", .enabled(if: Tool.exists("gcc")))
    func diskFull() async throws {
        try await expectHostTrouble("printf 'int x;\\n' > t.c; gcc -S -o /dev/full t.c") { error in
            #expect(error.message.contains("the disk filled up while building") && error.message.contains("No space left on device"))
        }
    }

    @Test("a reused BUILD-FAIL says which run made it and how to retry; an old cached exit 127 is not reused")
    func cachedNote() async throws {
        let scratch = try Scratch("host")
        let repository = try await TestRepository.withBuildProject(in: scratch)
        let counter = scratch.path("started")
        let store = scratch.path("store")
        let spec = BuildSpec.fixture(
            repository, opt: .O0, bits: .amd64, counter: counter, command: "echo x >> '\(counter.path)'; echo 'a.c:1: error: no'; exit 2")
        let first = try await Builder(store: store, options: BuilderOptions(runID: "20261201-a")).build(spec)
        #expect(first.status == .failed && first.cachedNote == nil && first.runID == "20261201-a")
        let again = try await Builder(store: store, options: BuilderOptions(runID: "20261201-b")).build(spec)
        #expect(again.cacheHit && startedCount(counter) == 1)
        #expect(again.cachedNote == "cached from run 20261201-a; --rebuild to retry")

        // A record an older nestci cached for a missing command is built again.
        let cache = BuildCache(store: store)
        var stale = first
        stale.exitCode = 127
        stale.errorLines = []
        stale.failure = "build command exit 127"
        _ = try cache.publish(stale, staging: try cache.makeStaging(), replace: true)
        #expect(cache.read(first.cacheKey)?.exitCode == 127)
        #expect(cache.reusable(first.cacheKey) == nil)
    }
}
