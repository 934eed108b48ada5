import CLibFuzzer

#if canImport(Glibc)
import Glibc
#endif

/// One input to a fuzz target.
public typealias FuzzTest = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

/// Hands the process to libFuzzer with `test` as the target; exits with libFuzzer's status (non-zero
/// on a crash, a leak, a timeout or an out-of-memory).
///
/// SwiftPM links an executable's entry point under a module-specific name, so libFuzzer's own `main`
/// never runs; each fuzz target's `@main` calls this instead.
public func runFuzzer(_ test: FuzzTest) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, test))
}

/// The input's bytes as an array.
public func fuzzBytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}

/// Fails the input (libFuzzer saves it as a crash) when `condition` is false. Unlike `precondition`,
/// whose message an optimized build drops, the message is printed.
public func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition { fatalError(message(), file: file, line: line) }
}

/// Fails the input with `message`.
public func fuzzFail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> Never {
    fatalError(message, file: file, line: line)
}
