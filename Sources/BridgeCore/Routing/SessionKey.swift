// SPDX-License-Identifier: Apache-2.0
/// What keeps a conversation on one deployment under session affinity: a ``StableHash`` of Claude
/// Code's session id, or of the conversation's start when the client names no session.
///
/// Claude Code re-sends the whole conversation every turn; only the replica that served the turn
/// before holds its prefix in the KV cache, so every turn of a session should go there.
public struct SessionKey: Sendable, Hashable {
    /// The hash the deployments are ranked by.
    public let hash: UInt64

    /// A key of a known hash (tests, and callers that hashed already).
    public init(hash: UInt64) {
        self.hash = hash
    }

    /// The key of Claude Code's `X-Claude-Code-Session-Id` header value (a UUID), or nil when the
    /// value is empty or longer than ``ClientSession/maximumLength`` bytes (not Claude Code's).
    /// Equal to the key of the same id found in `metadata.user_id`.
    public init?(sessionID: String) {
        guard !sessionID.isEmpty, sessionID.utf8.count <= ClientSession.maximumLength else { return nil }
        hash = StableHash.of(sessionID)
    }

    /// The key of a request without the session header: the session id of `metadata.user_id` (Claude
    /// Code sends both; older versions only this), else a hash of the system prompt and the first user
    /// message, which a client re-sends unchanged every turn. Nil when the request has neither.
    ///
    /// Text is hashed as it was parsed, never serialized again; non-text blocks of the first user
    /// message count by kind only (an image's bytes would cost more than they tell).
    public init?(request: AnthropicRequest, metadataSession: String?) {
        if let metadataSession, let key = SessionKey(sessionID: metadataSession) {
            self = key
            return
        }
        let firstUser = request.messages.first { $0.role == .user }
        guard !request.system.isEmpty || firstUser != nil else { return nil }
        var hash = StableHash()
        for text in request.system { hash.combine(text) }
        hash.combine(word: 0x5553_4552)  // "USER": where the system prompt ends
        for block in firstUser?.content ?? [] {
            switch block {
            case .text(let text): hash.combine(text)
            case .image: hash.combine(word: 1)
            case .toolUse: hash.combine(word: 2)
            case .toolResult: hash.combine(word: 3)
            case .thinking(let text): hash.combine(text)
            case .redactedThinking: hash.combine(word: 4)
            case .unsupported(let type): hash.combine(type)
            }
        }
        self.hash = hash.value
    }
}
