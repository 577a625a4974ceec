import Foundation
import Hypervisor
import Matrix

/// A branch a matrix builds from, as the watcher polls it.
public struct WatchedBranch: Sendable, Hashable, Codable {
    /// URL or absolute path, as the plan resolved it.
    public var repository: String
    /// Branch or tag name as written in the matrix (`xmhf64`).
    public var branch: String
    /// How the branch is named in observations and trigger reasons: the branch itself,
    /// or `repo/branch` when two repositories of one matrix use the same branch name.
    public var name: String

    public init(repository: String, branch: String, name: String? = nil) {
        self.repository = repository
        self.branch = branch
        self.name = name ?? branch
    }
}

/// Why a poll of one repository failed, in words that say what to check.
public struct BranchPollError: Error, Sendable, CustomStringConvertible {
    public var repository: String
    public var message: String
    public var description: String { "cannot poll \(repository): \(message)" }
}

/// Asks remotes where branches point (`git ls-remote`), for ``BranchWatchState``.
///
/// Read-only and cheap: no clone, one `ls-remote` per repository per poll, each under a
/// deadline through ``SupervisedProcess`` so an unreachable host cannot stall the service.
public struct BranchPoller: Sendable {
    /// Deadline for one `git ls-remote`.
    public var timeout: Duration
    public var logger: Logger

    public init(timeout: Duration = .seconds(60), logger: Logger = .discarding) {
        self.timeout = timeout
        self.logger = logger
    }

    /// The branches a matrix builds from: every distinct (repository, revision) of its
    /// builds, without revisions that are commit ids (they never move).
    public static func branches(of matrix: MatrixFile) throws -> [WatchedBranch] {
        var seen = Set<[String]>(), found: [WatchedBranch] = []
        for build in try matrix.plan().builds.sorted(by: { $0.spec.component < $1.spec.component }) {
            let pair = [build.spec.repository, build.spec.revision]
            guard !isCommitID(build.spec.revision), seen.insert(pair).inserted else { continue }
            found.append(WatchedBranch(repository: pair[0], branch: pair[1]))
        }
        // Same branch name in two repositories: prefix the repository's last path component.
        let names = Dictionary(grouping: found, by: \.branch)
        return found.map { branch in
            guard names[branch.branch]!.count > 1 else { return branch }
            let repo = URL(string: branch.repository)?.lastPathComponent ?? branch.repository
            return WatchedBranch(repository: branch.repository, branch: branch.branch, name: "\(repo.replacingOccurrences(of: ".git", with: ""))/\(branch.branch)")
        }
    }

    /// Polls every branch, one `ls-remote` per repository, repositories one after another
    /// (polls are rare; two cores are shared with boots). Branches a repository does not
    /// have are missing from `observations`; repositories that failed are in `failures`.
    public func poll(_ branches: [WatchedBranch]) async -> (observations: [BranchObservation], failures: [BranchPollError]) {
        var observations: [BranchObservation] = [], failures: [BranchPollError] = []
        let byRepository = Dictionary(grouping: branches, by: \.repository)
        for repository in byRepository.keys.sorted() {
            let wanted = byRepository[repository]!
            do {
                let commits = try await resolve(repository: repository, branches: wanted.map(\.branch))
                for branch in wanted {
                    if let commit = commits[branch.branch] {
                        observations.append(BranchObservation(branch: branch.name, commit: commit))
                    } else {
                        logger.warning("branch not found on the remote", ["repository": repository, "branch": branch.branch])
                    }
                }
            } catch let error as BranchPollError {
                logger.warning(error.description)
                failures.append(error)
            } catch {
                let failure = BranchPollError(repository: repository, message: "\(error)")
                logger.warning(failure.description)
                failures.append(failure)
            }
        }
        return (observations, failures)
    }

    /// Where `branches` point in `repository` (branch → commit; missing ones left out).
    public func resolve(repository: String, branches: [String]) async throws -> [String: String] {
        var environment = ["GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"]
        // A poll must never wait for a passphrase or a host-key question.
        if ProcessInfo.processInfo.environment["GIT_SSH_COMMAND"] == nil { environment["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes" }
        let patterns = branches.flatMap { ["refs/heads/\($0)", "refs/tags/\($0)", "refs/tags/\($0)^{}"] }
        let spec = ProcessSpec(
            "git", ["ls-remote", "--", repository] + patterns, environment: environment, timeout: timeout, outputLimit: 1 << 20)
        let result = try await SupervisedProcess.run(spec)
        if result.timedOut {
            throw BranchPollError(repository: repository, message: "git ls-remote did not answer within \(Int(timeout.seconds)) s (is the host reachable from here?)")
        }
        guard result.succeeded else {
            let tail = result.output.split(separator: "\n").suffix(3).joined(separator: " / ")
            throw BranchPollError(repository: repository, message: "git ls-remote failed (\(result.summary)): \(tail) (check the URL and this host's access to it)")
        }
        return Self.parseLsRemote(result.output, branches: branches)
    }

    /// Reads `git ls-remote` output: a branch wins over a tag of the same name, a peeled
    /// tag (`^{}`, the commit an annotated tag points at) over the tag object.
    public static func parseLsRemote(_ output: String, branches: [String]) -> [String: String] {
        var refs: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: "\t", maxSplits: 1)
            guard fields.count == 2, isCommitID(String(fields[0])) else { continue }
            refs[String(fields[1]).trimmingCharacters(in: .whitespaces)] = String(fields[0])
        }
        var result: [String: String] = [:]
        for branch in branches {
            result[branch] = refs["refs/heads/\(branch)"] ?? refs["refs/tags/\(branch)^{}"] ?? refs["refs/tags/\(branch)"]
        }
        return result
    }

    /// 40 (SHA-1) or 64 (SHA-256) hex digits.
    static func isCommitID(_ text: String) -> Bool {
        (text.count == 40 || text.count == 64) && text.allSatisfy(\.isHexDigit)
    }
}
