// SPDX-License-Identifier: Apache-2.0
/// The version of spark-bridge and sparkctl.
public enum BridgeVersion {
    public static let current = "0.1.0"
}
