import Foundation

/// Starts this program again, same arguments, with `name=value` added to its environment: for
/// settings a shared library reads once when it loads (OpenBLAS's `OPENBLAS_CORETYPE`), which no
/// call can change afterwards. Does nothing when `value` is nil. If the restart fails, this process
/// carries on as it is (only slower); a restarted one has the variable set and does not restart again.
public func restartWithEnvironment(_ name: String, _ value: String?) {
    guard let value, ProcessInfo.processInfo.environment[name] == nil else { return }
    setenv(name, value, 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
    unsetenv(name)
}
