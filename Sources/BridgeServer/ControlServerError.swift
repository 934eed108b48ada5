// SPDX-License-Identifier: Apache-2.0
#if canImport(Glibc)
import Glibc
#endif

/// Why the control socket could not be set up.
public enum ControlServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `control_socket_group` names no group.
    case unknownGroup(String)
    /// Another process answers on the socket path: a daemon is already running.
    case socketInUse(String)
    /// Something other than a socket sits at the socket path; it is left alone.
    case notASocket(String)
    /// A system call failed on the socket path.
    case system(path: String, operation: String, errno: Int32)

    /// A message naming the path and the cause.
    public var description: String {
        switch self {
        case .unknownGroup(let name):
            "control_socket_group: no group called \"\(name)\""
        case .socketInUse(let path):
            "\(path): another process is listening on this control socket (is spark-bridge already running?)"
        case .notASocket(let path):
            "\(path): exists and is not a socket; remove it or choose another control_socket"
        case .system(let path, let operation, let errno):
            "\(path): \(operation) failed: \(String(cString: strerror(errno)))"
        }
    }
}
