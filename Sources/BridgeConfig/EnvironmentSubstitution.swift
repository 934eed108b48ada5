// SPDX-License-Identifier: Apache-2.0
/// LiteLLM's `os.environ/NAME` values: a value written exactly so is read from the environment.
///
/// The environment is handed to the loader (the daemon passes its process environment, tests a
/// dictionary), overlaid with the file's own `environment_variables:` section as LiteLLM does.
enum EnvironmentReference {
    static let prefix = "os.environ/"

    /// The variable `text` names, or nil when `text` is an ordinary value.
    static func variableName(in text: String) -> String? {
        guard text.hasPrefix(prefix) else { return nil }
        return String(text.dropFirst(prefix.count))
    }

    /// `text` itself, or the value of the variable it names.
    static func resolve(_ text: String, in environment: [String: String]) -> Result<String, ConfigProblem> {
        guard let name = variableName(in: text) else { return .success(text) }
        guard !name.isEmpty else {
            return .failure(ConfigProblem("\"\(text)\" names no environment variable; write os.environ/NAME"))
        }
        guard let value = environment[name] else {
            return .failure(ConfigProblem("environment variable \(name) is not set (value is \(text))"))
        }
        return .success(value)
    }
}
