// SPDX-License-Identifier: Apache-2.0
import Foundation
import MallocInterposerSwift

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Allocation counts from ordo-one's malloc interposer.
///
/// The interposer counts only when its library is preloaded (Linux: `LD_PRELOAD`, macOS:
/// `DYLD_INSERT_LIBRARIES`), so that its `malloc`/`free` replace libc's for the whole process. Linking it
/// is not enough. `ensureActive()` checks that a known allocation is counted; when it is not, core-bench
/// re-executes itself once with the library next to its own executable preloaded (SwiftPM builds
/// `libMallocInterposerSwift.so` into the same directory as `core-bench`), and when counting is still
/// off after that, it stops with a message saying what to do.
enum AllocationCounting {
    /// Set in the re-executed process, so a failed preload cannot loop.
    static let reexecMarker = "CORE_BENCH_PRELOADED"

    #if os(macOS)
    static let preloadVariable = "DYLD_INSERT_LIBRARIES"
    static let libraryName = "libMallocInterposerSwift.dylib"
    #else
    static let preloadVariable = "LD_PRELOAD"
    static let libraryName = "libMallocInterposerSwift.so"
    #endif

    /// What one measured region allocated.
    struct Counts {
        var mallocs: Int
        var bytes: Int
    }

    /// Counts the allocations `body` makes (on this thread; core-bench runs on one).
    static func count(_ body: () -> Void) -> Counts {
        MallocInterposerSwift.reset()
        MallocInterposerSwift.hook()
        body()
        MallocInterposerSwift.unhook()
        let statistics = MallocInterposerSwift.getStatistics()
        return Counts(mallocs: statistics.mallocCount, bytes: statistics.mallocBytesCount)
    }

    /// Whether a 4 KB `malloc` is seen. The call goes through the process's own symbol lookup
    /// (`dlsym`), which the optimizer cannot see through: a plain `malloc`/`free` pair is removed from
    /// release builds.
    static var isActive: Bool {
        guard let process = dlopen(nil, RTLD_NOW), let allocate = dlsym(process, "malloc"), let release = dlsym(process, "free") else {
            return false
        }
        let malloc = unsafeBitCast(allocate, to: (@convention(c) (Int) -> UnsafeMutableRawPointer?).self)
        let free = unsafeBitCast(release, to: (@convention(c) (UnsafeMutableRawPointer?) -> Void).self)
        let counts = count { free(malloc(4096)) }
        return counts.mallocs > 0
    }

    /// Returns when counting works; otherwise re-executes this program with the interposer preloaded
    /// (and does not return), or exits with status 2 and a message when that is impossible or did not help.
    static func ensureActive() {
        if isActive { return }
        let executable = executablePath()
        let library = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent(libraryName).path
        if ProcessInfo.processInfo.environment[reexecMarker] != nil {
            fail("allocation counting is still off with \(preloadVariable)=\(ProcessInfo.processInfo.environment[preloadVariable] ?? ""); run core-bench from a SwiftPM build directory that holds \(libraryName), with \(preloadVariable) naming it")
        }
        guard FileManager.default.fileExists(atPath: library) else {
            fail("allocation counting is off and \(library) does not exist; build with `swift build -c release --product core-bench`, or run with \(preloadVariable)=/path/to/\(libraryName)")
        }
        let existing = ProcessInfo.processInfo.environment[preloadVariable].flatMap { $0.isEmpty ? nil : $0 }
        setenv(preloadVariable, existing.map { library + ":" + $0 } ?? library, 1)
        setenv(reexecMarker, "1", 1)
        execv(executable, CommandLine.unsafeArgv)
        fail("could not re-execute \(executable) with \(preloadVariable): \(String(cString: strerror(errno)))")
    }

    /// This program's own file: `/proc/self/exe` on Linux.
    static func executablePath() -> String {
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        #endif
        return Bundle.main.executablePath ?? CommandLine.arguments[0]
    }

    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("core-bench: \(message)\n".utf8))
        exit(2)
    }
}

/// Keeps a value alive and opaque to the optimizer, so the work that produced it is not removed.
@_optimize(none)
func blackHole<T>(_ value: T) {}
