// `dsv3 serve`: loads a model and serves the OpenAI-compatible API (src/serve/server.h) on a
// loopback address, with continuous batching of up to --parallel sequences of at most --ctx
// tokens over a paged KV pool of --kv-tokens tokens.
#include <malloc.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <regex>

#include "command.h"
#include "core/error.h"
#include "model_args.h"
#include "runtime/scheduler.h"
#include "serve/server.h"
#include "text_io.h"

namespace dsv3::cli {
namespace {

const char* kHelp =
    "usage: dsv3 serve [-m DIR] [--host 127.0.0.1] [--port N] [--parallel N] [--ctx N] [--queue "
    "N]\n"
    "  --host ADDR         loopback address to bind (127.0.0.1, localhost or ::1; default "
    "127.0.0.1)\n"
    "  --port N            TCP port (default 8080; 0 = any free port, printed on stderr)\n"
    "  --parallel N        most sequences decoded together (default 4)\n"
    "  --kv-tokens N       paged KV pool size in tokens, shared by all sequences (default\n"
    "                      parallel x ctx); a request starts when the pool has pages for its\n"
    "                      prompt, else waits; a prompt larger than the pool gets 503\n"
    "  --kv-page N         tokens per KV page (default 64)\n"
    "  --queue N           requests waiting for pages or a batch place before 429 (default 64)\n"
    "  --prefill-chunk N   prompt tokens per batched step (default 256)\n"
    "  --max-body N        largest request body in bytes (default 1048576; larger -> 413)\n"
    "  --model-name NAME   model id clients must send (default: the model folder's or GGUF file's\n"
    "                      name; NAME.gguf for a split NAME-0000k-of-0000N.gguf)\n"
    "  --mtp N / --no-mtp  MTP self-speculative decoding in the batched steps (default: 1 when the\n"
    "                      checkpoint has the module; the server drafts at most 1 token)\n"
    "  routes: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health,\n"
    "          GET /metrics, GET / (chat page)\n";

int cmd_serve(const std::vector<std::string>& argv) {
  auto spec = model_flag_spec();
  for (auto& f : text_flag_spec()) spec.push_back(f);
  for (const char* f : {"--host=", "--port=", "--parallel=", "--kv-tokens=", "--kv-page=", "--queue=", "--prefill-chunk=",
                        "--max-body=", "--model-name=", "--mtp=", "--no-mtp", "--help"})
    spec.push_back(f);
  Args a(argv, spec);
  if (a.has("--help")) {
    std::fputs(kHelp, stdout);
    std::fputs(model_flag_help(), stdout);
    std::fputs(text_flag_help(), stdout);
    return 0;
  }
  sigset_t set;  // block before any thread starts so they all inherit the mask
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  serve::ServerOptions so;
  so.host = a.get("--host", "127.0.0.1");
  so.port = int(a.get_int("--port", 8080));
  so.max_body_bytes = size_t(a.get_int("--max-body", 1 << 20));
  LoadedModel lm = load_model_from_args(a);
  SchedulerOptions opt;
  opt.max_seqs = a.get_int("--parallel", 4);
  opt.max_queue = a.get_int("--queue", 64);
  opt.kv_tokens = a.get_int("--kv-tokens", 0);
  opt.page_tokens = a.get_int("--kv-page", 64);
  opt.prefill_chunk = a.get_int("--prefill-chunk", 256);
  opt.ctx = lm.cache->ctx();
  opt.kv_dtype = lm.cache->dtype();
  opt.fwd = lm.fwd;
  DSV3_CHECK(!(a.has("--mtp") && a.has("--no-mtp")), "--mtp and --no-mtp contradict each other");
  opt.mtp_depth = a.has("--no-mtp") ? 0 : a.get_int("--mtp", lm.model->mtp.empty() ? 0 : 1);
  lm.cache.reset();
  auto tok = load_tokenizer(a, lm.dir);
  std::unique_ptr<ChatTemplate> tmpl;
  serve::ApiContext api;
  if (tok && (!tok->chat_template().empty() || a.has("--chat-template-file"))) {
    tmpl = std::make_unique<ChatTemplate>(chat_template_source(a, *tok));
    api.tmpl_opts = chat_options(*tok, true);
  }
  std::string name = std::filesystem::path(lm.dir).filename().string();
  if (name.empty()) name = std::filesystem::path(lm.dir).parent_path().filename().string();
  // A split GGUF is named after the model, whichever shard was given: M-00002-of-00003.gguf -> M.gguf.
  name = std::regex_replace(name, std::regex("-[0-9]{5}-of-[0-9]{5}\\.gguf$"), ".gguf");
  api.model_name = a.get("--model-name", name.empty() ? "dsv3" : name);
  api.ctx = opt.ctx;
  api.vocab_size = lm.model->config.vocab_size;
  api.tok = tok.get();
  api.tmpl = tmpl.get();
  std::signal(SIGPIPE, SIG_IGN);
  // Every step allocates and frees its activation buffers; keep freed memory in the heap
  // instead of returning it to the OS (which cost page faults + madvise on each step: ~15% of
  // the server's CPU in a 16-stream profile).
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  Scheduler sched(*lm.model, lm.pool.get(), opt);
  serve::Server server(sched, api, so);
  server.start();
  std::fprintf(stderr,
               "dsv3 serve: model '%s' on http://%s:%d/ (%lld parallel, ctx %lld, KV pool %lld "
               "tokens in pages of %lld, queue %lld%s)\n",
               api.model_name.c_str(), so.host.c_str(), server.port(), (long long)opt.max_seqs,
               (long long)opt.ctx, (long long)sched.stats().kv_tokens_capacity,
               (long long)opt.page_tokens, (long long)opt.max_queue,
               tok ? "" : ", no tokenizer: token-id prompts only");
  // Serve until SIGINT/SIGTERM (blocked in every thread, taken here).
  int sig = 0;
  sigwait(&set, &sig);
  std::fprintf(stderr, "dsv3 serve: signal %d, shutting down\n", sig);
  server.stop();
  return 0;
}

const bool registered = register_command({"serve", "OpenAI-compatible HTTP server", cmd_serve});

}  // namespace
}  // namespace dsv3::cli
