import BridgeJSON
import FuzzSupport

/// Arbitrary bytes as one JSON document (a request body, a backend answer).
///
/// The parser must answer every input with a value or a `JSONParseError`, never a trap; a value it
/// accepts must come back unchanged from `JSONWriter` and a second parse, and its numbers must read
/// as `Int`/`Double` without trapping.
@main
enum FuzzJSON {
    static func main() { runFuzzer(test) }

    static let test: FuzzTest = { data, size in
        let bytes = fuzzBytes(data, size)
        guard let value = try? JSONParser.parse(bytes) else { return 0 }
        let written = value.jsonBytes
        guard let again = try? JSONParser.parse(written) else {
            fuzzFail("JSONWriter wrote a document the parser refuses: \(String(decoding: written, as: UTF8.self))")
        }
        fuzzCheck(again == value, "a JSON value changed through JSONWriter and a second parse")
        readNumbers(value)
        return 0
    }

    /// Reads every number as the translation does (`intValue`, `doubleValue`).
    static func readNumbers(_ value: JSONValue) {
        switch value {
        case .number:
            _ = value.intValue
            _ = value.doubleValue
        case .array(let elements):
            for element in elements { readNumbers(element) }
        case .object(let object):
            for member in object.members { readNumbers(member.value) }
        case .null, .bool, .string:
            break
        }
    }
}
