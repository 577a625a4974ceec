import Foundation
import Matrix

/// Library errors carry a code in their own layer (``StoreError``, ``RunError``,
/// ``DashboardError``, ``DatabaseError``, ...); only the CLI turns them into a message
/// and an exit status, as swift-argument-parser keeps `ExitCode` in the command.
extension NestCI {
    /// The exit status `nestci` ends with after `error`.
    public static func exitStatus(for error: any Error) -> ExitStatus {
        switch error {
        case is UsageError: return .usage
        case is MatrixError: return .dataError
        case is BundleError: return .dataError
        case let error as UserError: return error.status
        case let error as StoreError:
            // A reference typed on the command line that cannot be one is a usage error;
            // a missing run or an unwritable folder is the store's trouble.
            return error.code == .badReference ? .usage : .failure
        default: return .failure
        }
    }

    /// The message `nestci` prints for `error` (after `nestci: `): the error's own words,
    /// never a type dump.
    public static func message(for error: any Error) -> String {
        switch error {
        case let error as UserError: return error.message
        case let error as StoreError: return error.message
        case let error as RunError: return error.message
        case let error as DashboardError: return error.message
        default: return "\(error)"
        }
    }
}
