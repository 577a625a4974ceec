import CIRunner
import Foundation
import Hypervisor

// The executable only wires the process to the library: arguments in, exit status out.
let status = await NestCI.main(Array(CommandLine.arguments.dropFirst()))
// Nothing nestci started may outlive it, whatever path the command took.
if !ProcessRegistry.shared.live.isEmpty { ProcessRegistry.shared.terminateAll(grace: .seconds(2)) }
exit(status)
