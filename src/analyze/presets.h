// Built-in model presets for `dsv3 analyze --preset NAME`: the published config.json of each
// model (size-relevant fields copied verbatim from the Hugging Face repositories), kept as data
// in one table and read by the same parser as a user's config.json.
#pragma once
#include <string>
#include <vector>

#include "analyze/arch_spec.h"

namespace dsv3::analyze {

struct Preset {
  const char* name;    // "deepseek-v3"
  const char* source;  // Hugging Face repository the config.json comes from
  const char* config;  // config.json text
};

const std::vector<Preset>& presets();
// Parses preset `name`; unknown names throw dsv3::Error listing the known ones.
ArchSpec load_preset(const std::string& name);

}  // namespace dsv3::analyze
