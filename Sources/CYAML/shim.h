// SPDX-License-Identifier: Apache-2.0
// libyaml's parser/event API, for the BridgeConfig YAML reader.
#include <yaml.h>
