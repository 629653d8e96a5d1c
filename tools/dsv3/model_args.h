// Flags shared by the subcommands that run a model (-m, --threads, --ctx, --kv-type, --mla,
// --act-precision, --dump) and the code that loads the model, creates the thread pool and KV
// cache, and prints the load report (weights, cache bytes per token, buffers) to stderr.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "args.h"
#include "core/thread_pool.h"
#include "model/forward.h"
#include "model/model.h"
#include "runtime/generator.h"
#include "runtime/kv_cache.h"

namespace dsv3::cli {

// Flag spec entries for Args (append to a command's own flags).
std::vector<std::string> model_flag_spec();
// Help text lines for those flags.
const char* model_flag_help();

struct LoadedModel {
  std::unique_ptr<Model> model;
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<KvCache> cache;
  ForwardOptions fwd;
  std::string dir;
};

// Loads the model named by -m (or the built-in model), with the cache sized by --ctx.
// `quiet` suppresses the load report.
LoadedModel load_model_from_args(const Args& a, bool quiet = false);

// Sampling / MTP flags shared by run, chat and eval: --temp --top-k --top-p --seed --mtp --no-mtp
// --ignore-eos.
std::vector<std::string> generate_flag_spec();
const char* generate_flag_help();
// Validated options; MTP defaults to depth 1 when the checkpoint has the module.
GenerateOptions parse_generate_options(const Args& a, const Model& m);

// The KV cache of `lm` handed over to a Generator (which owns its caches) with the same context
// length and dtype.
std::unique_ptr<Generator> make_generator(LoadedModel& lm, const GenerateOptions& go);

// Parses "1,2,3" or "1 2 3" into token ids; errors name the bad entry.
std::vector<int32_t> parse_token_list(const std::string& s, const std::string& what);

}  // namespace dsv3::cli
