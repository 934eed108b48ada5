// SPDX-License-Identifier: Apache-2.0
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// The control socket's file: making room for it, its permissions, and removing it.
enum SocketFile {
    /// Creates the parent directory when missing and removes a socket file nobody answers on.
    static func prepare(_ path: String) throws(ControlServerError) {
        try makeDirectories(parentDirectory(of: path))
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else { throw .notASocket(path) }
        if isAnswering(path) { throw .socketInUse(path) }
        guard unlink(path) == 0 || errno == ENOENT else { throw .system(path: path, operation: "unlink", errno: errno) }
    }

    /// Sets the socket file's mode and, when given, its group; returns its inode, so that shutdown
    /// removes this socket and not one a successor made.
    static func setPermissions(_ path: String, mode: UInt16, group: UInt32?) throws(ControlServerError) -> UInt64 {
        if let group, chown(path, uid_t.max, gid_t(group)) != 0 {
            throw .system(path: path, operation: "chown to group \(group)", errno: errno)
        }
        guard chmod(path, mode_t(mode)) == 0 else { throw .system(path: path, operation: "chmod", errno: errno) }
        var info = stat()
        guard lstat(path, &info) == 0 else { throw .system(path: path, operation: "stat", errno: errno) }
        return UInt64(info.st_ino)
    }

    /// Removes the socket file if it is still the one with `inode` (any socket when nil).
    static func remove(_ path: String, inode: UInt64?) {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else { return }
        if let inode, UInt64(info.st_ino) != inode { return }
        unlink(path)
    }

    /// The directory holding `path`, as `NSString.deletingLastPathComponent` gives it: "" for a bare
    /// name, "/" for a name at the root; repeated and trailing slashes are dropped.
    static func parentDirectory(of path: String) -> String {
        var components = path.split(separator: "/")
        let root = path.hasPrefix("/") ? "/" : ""
        guard !components.isEmpty else { return root }
        components.removeLast()
        return root + components.joined(separator: "/")
    }

    /// `mkdir -p` with mode 0755 (before the umask).
    private static func makeDirectories(_ directory: String) throws(ControlServerError) {
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0, errno != EEXIST {
                throw .system(path: prefix, operation: "mkdir", errno: errno)
            }
        }
    }

    /// True when a process accepts connections on the socket at `path`.
    private static func isAnswering(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let fits = withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            guard bytes.count < raw.count else { return false }
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
            return true
        }
        guard fits else { return false }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return result == 0
    }
}
