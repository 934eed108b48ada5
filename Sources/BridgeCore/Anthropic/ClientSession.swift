// SPDX-License-Identifier: Apache-2.0
import BridgeJSON

/// The conversation a request belongs to, as Claude Code names it in `metadata.user_id`: a JSON string
/// `{"device_id":…,"account_uuid":…,"session_id":"<uuid>"}` (2.1.x), or the legacy
/// `user_<hex>_account_<uuid>_session_<uuid>`.
public enum ClientSession {
    /// Longest session id kept (it keys a bounded table; anything longer is not Claude Code's).
    static let maximumLength = 128

    /// The session id in a request body, or nil.
    public static func id(in body: JSONValue) -> String? {
        guard let userID = body["metadata"]?["user_id"]?.stringValue, !userID.isEmpty else { return nil }
        let found: String?
        if userID.hasPrefix("{") {
            found = (try? JSONParser.parse(Array(userID.utf8)))?["session_id"]?.stringValue
        } else if let range = userID.ranges(of: "_session_").last {
            found = String(userID[range.upperBound...])
        } else {
            found = nil
        }
        guard let found, !found.isEmpty, found.utf8.count <= maximumLength else { return nil }
        return found
    }
}
