// SPDX-License-Identifier: Apache-2.0
/// A place in a configuration file: 1-based line and column, as editors count them.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    /// The file as it was named to the loader.
    public let file: String
    /// 1-based line; 0 when the problem concerns the whole file (it cannot be read, for example).
    public let line: Int
    /// 1-based column; 0 when `line` is 0.
    public let column: Int

    /// A location; `line` and `column` are 1-based.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// A location for the file as a whole.
    public static func wholeFile(_ file: String) -> SourceLocation {
        SourceLocation(file: file, line: 0, column: 0)
    }

    /// `file:line:column`, or just `file` for the file as a whole.
    public var description: String { line > 0 ? "\(file):\(line):\(column)" : file }
}

/// One finding about a configuration file, rendered as `file:line:column: message`.
public struct ConfigDiagnostic: Sendable, Equatable, CustomStringConvertible {
    /// Where the finding is: the value (or key) it concerns.
    public let location: SourceLocation
    /// What is wrong, starting with the key path it concerns (`timeouts.connect_seconds: …`).
    public let message: String

    /// A finding at `location`.
    public init(location: SourceLocation, message: String) {
        self.location = location
        self.message = message
    }

    /// The file, 1-based line and column of `location`.
    public var file: String { location.file }
    public var line: Int { location.line }
    public var column: Int { location.column }

    /// `file:line:column: message`.
    public var description: String { "\(location): \(message)" }
}

/// Why a configuration could not be loaded: every error found, in file order, at least one.
///
/// The loader keeps going after the first error so that one `sparkctl reload` shows all of them.
/// `file`, `line`, `column` and `message` are those of the first error.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Every error, in the order they were found; never empty.
    public let diagnostics: [ConfigDiagnostic]

    /// An error made of the given diagnostics; `diagnostics` must not be empty.
    public init(_ diagnostics: [ConfigDiagnostic]) {
        precondition(!diagnostics.isEmpty, "a ConfigError needs at least one diagnostic")
        self.diagnostics = diagnostics
    }

    /// A single error at `location`.
    public init(location: SourceLocation, message: String) {
        self.init([ConfigDiagnostic(location: location, message: message)])
    }

    /// The first error's location and message.
    public var location: SourceLocation { diagnostics[0].location }
    public var file: String { location.file }
    public var line: Int { location.line }
    public var column: Int { location.column }
    public var message: String { diagnostics[0].message }

    /// One `file:line:column: message` line per error.
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
