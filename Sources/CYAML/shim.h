// libyaml's parser/event API, for the BridgeConfig YAML reader.
#include <yaml.h>
