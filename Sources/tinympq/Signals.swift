import Dispatch
import Foundation
import Pipeline

/// SIGTERM and SIGINT ask the running stage to stop: stages check between steps, staging
/// folders are removed, the previous outputs stay, and the process exits 143 or 130.
enum Signals {
    nonisolated(unsafe) static var received: Int32 = 0
    nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []

    static var exitCode: ExitCode { received == SIGINT ? .interrupted : .terminated }

    static func installCancellation(onSignal: (@Sendable (Int32) -> Void)? = nil) {
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler {
                received = sig
                Cancellation.cancel()
                onSignal?(sig)
            }
            s.resume()
            sources.append(s)
        }
    }
}
