import BridgeConfig
import FuzzSupport

/// Arbitrary bytes as the configuration file (LiteLLM `model_list` and the `spark_bridge:` section),
/// as `spark-bridge --check`, start-up and `sparkctl reload` read it.
///
/// Every input must load or fail with diagnostics that name the file and, past the file as a whole, a
/// line and column; never a trap, and no alias expansion past the reader's limits.
@main
enum FuzzConfig {
    static func main() { runFuzzer(test) }

    static let environment = ["VLLM_API_KEY": "sk-fuzz", "BRIDGE_MASTER_KEY": "sk-bridge-fuzz", "EMPTY": ""]

    static let test: FuzzTest = { data, size in
        do throws(ConfigError) {
            let loaded = try ConfigLoader.load(bytes: fuzzBytes(data, size), path: "fuzz.yaml", environment: environment)
            for warning in loaded.warnings { checkLocation(warning) }
        } catch {
            fuzzCheck(!error.diagnostics.isEmpty, "a configuration error without a diagnostic")
            for diagnostic in error.diagnostics { checkLocation(diagnostic) }
        }
        return 0
    }

    static func checkLocation(_ diagnostic: ConfigDiagnostic) {
        fuzzCheck(diagnostic.location.file == "fuzz.yaml", "a diagnostic for another file: \(diagnostic)")
        fuzzCheck(diagnostic.location.line >= 0 && diagnostic.location.column >= 0, "a diagnostic before the file: \(diagnostic)")
        fuzzCheck(diagnostic.location.line == 0 || diagnostic.location.column >= 1, "a line without a column: \(diagnostic)")
        fuzzCheck(!diagnostic.message.isEmpty, "a diagnostic without a message")
    }
}
