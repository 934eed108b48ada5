import ControlProtocol
import FuzzSupport

/// Arbitrary bytes as one line on the control socket, as the daemon reads what `sparkctl` (or any
/// local process allowed to connect) sends.
///
/// Every line must be a request or a `ControlRequestError`, never a trap; a request must read back
/// the same from its own encoding.
@main
enum FuzzControl {
    static func main() { runFuzzer(test) }

    static let test: FuzzTest = { data, size in
        let line = fuzzBytes(data, size)
        guard let request = try? ControlRequest.parse(line) else { return 0 }
        let encoded = request.encodedLine()
        fuzzCheck(encoded.last == UInt8(ascii: "\n"), "an encoded request without its newline")
        fuzzCheck((try? ControlRequest.parse(encoded.dropLast())) == request, "a request that does not read back from its encoding: \(request)")
        return 0
    }
}
