import CIRunner
import Foundation

// The executable only wires the process to the library: arguments in, exit status out.
let status = await NestCI.main(Array(CommandLine.arguments.dropFirst()))
exit(status)
