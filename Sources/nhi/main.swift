#if canImport(Glibc)
import Glibc
#endif
import NHICLI

// The executable is a thin shell: everything, including exit-code mapping, lives in the NHI library.
let code = CLI.run(Array(CommandLine.arguments.dropFirst()), environment: .process())
exit(code)
