// SPDX-License-Identifier: Apache-2.0
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The terminal while `sparkctl top` runs full screen: the alternate screen, no cursor, keys read
/// one at a time without echo (Ctrl-C arrives as a key, so the terminal is always restored).
/// `restore()` puts everything back; SIGTERM and SIGHUP restore it too before exiting.
final class TerminalSession {
    private var saved = termios()
    private var restored = false
    private var signalSources: [any DispatchSourceSignal] = []

    /// Takes over the terminal, or returns nil when stdin is not one.
    init?() {
        guard isatty(STDIN_FILENO) == 1, tcgetattr(STDIN_FILENO, &saved) == 0 else { return nil }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        tcsetattr(STDIN_FILENO, TCSANOW, &raw)
        Self.write("\u{1B}[?1049h\u{1B}[?25l")
        let original = saved
        for number in [SIGTERM, SIGHUP] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                var original = original
                tcsetattr(STDIN_FILENO, TCSANOW, &original)
                Self.write("\u{1B}[?25h\u{1B}[?1049l")
                exit(0)
            }
            source.resume()
            signalSources.append(source)
        }
    }

    /// Replaces the screen's contents with `lines`.
    func draw(_ lines: [String]) {
        Self.write("\u{1B}[H\u{1B}[2J" + lines.joined(separator: "\r\n"))
    }

    /// Waits up to `timeout` for a key; true when it is one that quits (`q`, `Q`, Ctrl-C, Ctrl-D).
    func waitForQuit(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            guard remaining > .zero else { return false }
            var poller = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(clamping: remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000 + 1)
            let ready = poll(&poller, 1, milliseconds)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { return false }
            var key: UInt8 = 0
            let count = read(STDIN_FILENO, &key, 1)
            if count == 0 { return true }
            if count == 1, [UInt8(ascii: "q"), UInt8(ascii: "Q"), 0x03, 0x04].contains(key) { return true }
        }
    }

    /// The terminal's width in columns, when it says.
    var columns: Int? {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
    }

    /// Back to the normal screen, cursor and line discipline.
    func restore() {
        guard !restored else { return }
        restored = true
        signalSources.forEach { $0.cancel() }
        tcsetattr(STDIN_FILENO, TCSANOW, &saved)
        Self.write("\u{1B}[?25h\u{1B}[?1049l")
    }

    deinit { restore() }

    private static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
