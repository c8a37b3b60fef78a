import Foundation
import Graph
import Import
import Kernels
import Pipeline

// Entry point: dispatches to a command and turns every error into a message and an exit code.
let argv = Array(CommandLine.arguments.dropFirst())
let code: ExitCode
do {
    switch argv.first {
    case nil, "help", "--help", "-h":
        if argv.count > 1, argv[0] == "help" {
            switch argv[1] {
            case "run": print(Help.run)
            case "infer": print(Help.infer)
            case "watch": print(Help.watch)
            default: throw UsageError("no help for unknown command '\(argv[1])'")
            }
        } else {
            print(Help.main)
        }
        code = .ok
    case "run": code = try Commands.run(Array(argv.dropFirst()))
    case "infer": code = try Commands.infer(Array(argv.dropFirst()))
    case "bench": code = try Commands.bench(Array(argv.dropFirst()))
    case "watch": code = try Commands.watch(Array(argv.dropFirst()))
    case "status": code = try Commands.status(Array(argv.dropFirst()))
    case "explain": code = try Commands.explain(Array(argv.dropFirst()))
    case "gc": code = try Commands.gc(Array(argv.dropFirst()))
    case "version", "--version":
        print("tinympq \(ToolInfo.version)")
        code = .ok
    case let other?:
        throw UsageError("unknown command '\(other)'. Commands: watch, run, status, explain, gc, infer, bench, version, help")
    }
} catch let e as UsageError {
    warn("tinympq: \(e.description)")
    code = .usage
} catch {
    warn("tinympq: \(error)")
    code = .stageFailed
}
exit(code.rawValue)
