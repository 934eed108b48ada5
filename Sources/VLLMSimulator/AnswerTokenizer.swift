// SPDX-License-Identifier: Apache-2.0
/// Splits answer text into the "tokens" the simulator streams, one per content/reasoning chunk.
///
/// The rule, deterministic and close to how BPE vocabularies split English and code:
/// - a run of letters, digits and `_` (at most 12 characters), with one preceding space attached
///   (`" world"`);
/// - any other single character, with one preceding space attached (`" ("`);
/// - whitespace not attached that way (newlines, indentation, a trailing space) is a token of its own
///   (`"\n\n"`).
/// Pieces never split a grapheme cluster, so every piece is valid UTF-8.
public enum AnswerTokenizer {
    /// The longest word piece, in characters.
    public static let maximumWordLength = 12

    /// The pieces of `text`; joining them gives `text` back.
    public static func pieces(_ text: String) -> [String] {
        let characters = Array(text)
        var pieces: [String] = []
        var index = 0
        while index < characters.count {
            let start = index
            let character = characters[index]
            if character.isWhitespace {
                // A lone space directly before a non-space joins the next piece.
                if character == " ", index + 1 < characters.count, !characters[index + 1].isWhitespace {
                    index += 1
                    index = endOfPiece(characters, from: index)
                } else {
                    while index < characters.count, characters[index].isWhitespace {
                        // Leave a final space for the word that follows it.
                        if characters[index] == " ", index + 1 < characters.count, !characters[index + 1].isWhitespace,
                            index > start
                        {
                            break
                        }
                        index += 1
                    }
                }
            } else {
                index = endOfPiece(characters, from: index)
            }
            pieces.append(String(characters[start..<index]))
        }
        return pieces
    }

    private static func isWordCharacter(_ character: Character) -> Bool {
        character.isLetter || character.isNumber || character == "_"
    }

    /// The end of the word or symbol starting at `index` (a non-whitespace character).
    private static func endOfPiece(_ characters: [Character], from index: Int) -> Int {
        guard isWordCharacter(characters[index]) else { return index + 1 }
        var end = index
        while end < characters.count, end - index < maximumWordLength, isWordCharacter(characters[end]) {
            end += 1
        }
        return end
    }
}
