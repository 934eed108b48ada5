// SPDX-License-Identifier: Apache-2.0
import BridgeJSON
import Testing

@Suite("JSON parser and writer")
struct JSONRoundTripTests {
    @Test("a compact document is written back byte for byte, member order and number text kept")
    func roundTripKeepsOrderAndNumbers() throws {
        let text = #"{"z":1,"a":[1.50,-0,2e10,true,false,null],"m":{"b":"x","a":"y"},"price":5.50}"#
        #expect(try JSONParser.parse(text).jsonString == text)
    }

    @Test("escapes are decoded and re-encoded canonically")
    func escapes() throws {
        let value = try JSONParser.parse(#""a\"b\\c\/d\n\t\u0001\u00e9\ud83d\ude00""#)
        #expect(value == .string("a\"b\\c/d\n\t\u{01}é😀"))
        #expect(value.jsonString == #""a\"b\\c/d\n\t\u0001é😀""#)
    }

    @Test("a lone surrogate escape becomes U+FFFD instead of failing")
    func loneSurrogate() throws {
        #expect(try JSONParser.parse(#""\ud800x""#) == .string("\u{FFFD}x"))
    }

    @Test("malformed documents are rejected with the byte offset", arguments: [
        "", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "tru", "\"abc", "{\"a\":1}x", "\"\u{01}\"", "[1 2]", "{,}", "\"\\x\"",
    ])
    func malformed(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test("invalid UTF-8 inside a string is rejected")
    func invalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test("nesting past the limit is an error, not a stack overflow")
    func deepNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let ok = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect((try? JSONParser.parse(ok)) != nil)
    }

    @Test("object subscript replaces in place, appends, and removes")
    func objectEditing() {
        var object: JSONObject = ["a": 1, "b": 2]
        object["a"] = "x"
        object["c"] = .null
        object["b"] = nil
        #expect(JSONValue.object(object).jsonString == #"{"a":"x","c":null}"#)
    }

    @Test("integers read from integral numbers only")
    func intValue() throws {
        #expect(JSONValue.number("3").intValue == 3)
        #expect(JSONValue.number("3.0").intValue == 3)
        #expect(JSONValue.number("3.5").intValue == nil)
    }

    @Test("a quote, backslash, control character or non-ASCII byte is found at every offset of a long string")
    func specialBytesAtEveryOffset() throws {
        for offset in 0..<24 {
            let prefix = String(repeating: "a", count: offset)
            let suffix = String(repeating: "b", count: 19)
            #expect(try JSONParser.parse("\"\(prefix)\"") == .string(prefix))
            #expect(try JSONParser.parse("\"\(prefix)\\n\(suffix)\"") == .string(prefix + "\n" + suffix))
            #expect(try JSONParser.parse("\"\(prefix)é\(suffix)\"") == .string(prefix + "é" + suffix))
            #expect(throws: JSONParseError.self) { try JSONParser.parse("\"\(prefix)\u{01}\(suffix)\"") }
            #expect(throws: JSONParseError.self) { try JSONParser.parse("\"\(prefix)\u{1F}\(suffix)\"") }
            // Invalid UTF-8 (a lone continuation byte) after an ASCII run is still refused.
            let invalid = Array("\"\(prefix)".utf8) + [0x80] + Array("\(suffix)\"".utf8)
            #expect(throws: JSONParseError.self) { try JSONParser.parse(invalid) }
            // Bytes that only look close to the special ones pass through: space, DEL, '!', '#', '[', ']'.
            let near = prefix + " \u{7F}!#[]" + suffix
            #expect(try JSONParser.parse("\"\(near)\"") == .string(near))
        }
    }
}
