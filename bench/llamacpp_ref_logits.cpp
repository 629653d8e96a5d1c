// Reference numbers from llama.cpp (libllama) for a GGUF model on one text: the token ids
// llama.cpp's tokenizer makes (BOS added as the model says), and for every position t the
// argmax of the logits (top-1 next token) and the negative log-likelihood of token t+1, from
// one forward pass over the whole sequence with logits for every position (F32 K/V cache; with
// llama.cpp's default flash attention, which is on for the CPU, attention still sees K/V rounded
// to f16, see FLASH_ATTN below). Perplexity =
// exp(mean nll) over the T-1 predicted tokens (no window, no "first half unscored" rule, so
// the number is comparable with `dsv3 perplexity --ctx T` on the same token ids).
//
// Not part of the dsv3 build: bench/r1_distill_vs_llamacpp.sh compiles it against the
// llama.cpp build of bench/vs_llamacpp.sh.
//
//   llamacpp_ref_logits MODEL.gguf TEXT_FILE OUT_PREFIX [THREADS]
// writes OUT_PREFIX.tokens (ids, one line, space separated) and OUT_PREFIX.tsv
// ("pos\ttoken\ttop1\tnll_next" per position; nll_next is empty at the last position),
// prints "perplexity: P over N predicted tokens". With LOGITS_OUT=FILE in the environment, also
// writes all logits as raw little-endian float32 [T, n_vocab] (for diagnosing disagreements).
// With DUMP_DIR=DIR, every contiguous f32 graph tensor whose name matches DUMP_MATCH (a regex,
// default "-0$|^l_out|^result") is written as DIR/<name>[.k].npy (ggml's ne reversed as the
// shape; .k numbers repeats of one name), for a per-op comparison with `dsv3 ... --dump`.
// KV_TYPE=f16 uses llama.cpp's default F16 K/V cache instead of F32. FLASH_ATTN=off|on|auto
// (default auto = llama.cpp's default, which turns flash attention on for the CPU backend).
// Note: with flash attention llama.cpp casts F32 K and V to F16 before attending
// (llm_graph_context::build_attn_mha), so only FLASH_ATTN=off attends in F32.
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "ggml-backend.h"
#include "llama.h"

namespace {

struct DumpState {
  std::string dir;
  std::regex match;
  std::map<std::string, int> seen;
};

// ggml eval callback: asked first whether a tensor is wanted, then called with its data.
bool dump_tensor(ggml_tensor* t, bool ask, void* user) {
  auto* st = static_cast<DumpState*>(user);
  const bool want = t->type == GGML_TYPE_F32 && ggml_is_contiguous(t) && std::regex_search(t->name, st->match);
  if (ask || !want) return want;
  const int k = st->seen[t->name]++;
  std::string path = st->dir + "/" + t->name + (k ? "." + std::to_string(k) : "") + ".npy";
  std::vector<float> buf(size_t(ggml_nelements(t)));
  ggml_backend_tensor_get(t, buf.data(), 0, buf.size() * sizeof(float));
  int nd = 4;
  while (nd > 1 && t->ne[nd - 1] == 1) --nd;
  std::string shape;
  for (int d = nd - 1; d >= 0; --d) shape += std::to_string(t->ne[d]) + ", ";
  std::string hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shape + "), }";
  while ((hdr.size() + 11) % 64) hdr += ' ';
  hdr += '\n';
  std::ofstream f(path, std::ios::binary);
  f.write("\x93NUMPY\x01\x00", 8);
  const uint16_t hl = uint16_t(hdr.size());
  f.write(reinterpret_cast<const char*>(&hl), 2);
  f << hdr;
  f.write(reinterpret_cast<const char*>(buf.data()), std::streamsize(buf.size() * sizeof(float)));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s MODEL.gguf TEXT_FILE OUT_PREFIX [THREADS]\n", argv[0]);
    return 2;
  }
  const std::string prefix = argv[3];
  const int threads = argc > 4 ? std::atoi(argv[4]) : 2;
  std::ifstream in(argv[2], std::ios::binary);
  if (!in) { std::fprintf(stderr, "cannot read %s\n", argv[2]); return 1; }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();

  llama_backend_init();
  llama_model_params mp = llama_model_default_params();
  llama_model* model = llama_model_load_from_file(argv[1], mp);
  if (!model) { std::fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
  const llama_vocab* vocab = llama_model_get_vocab(model);
  const int n_vocab = llama_vocab_n_tokens(vocab);

  std::vector<llama_token> toks(text.size() + 8);
  int n = llama_tokenize(vocab, text.data(), int(text.size()), toks.data(), int(toks.size()), true, false);
  if (n < 2) { std::fprintf(stderr, "tokenize failed (%d)\n", n); return 1; }
  toks.resize(size_t(n));

  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = uint32_t(n);
  cp.n_batch = uint32_t(n);
  cp.n_ubatch = uint32_t(n);
  cp.n_threads = threads;
  cp.n_threads_batch = threads;
  // F32 K/V cache (llama.cpp's default is F16): the reference should be the most exact
  // llama.cpp computes; dsv3's cache is f32 by default too.
  const char* kvt = std::getenv("KV_TYPE");
  const bool f16kv = kvt && std::string(kvt) == "f16";
  cp.type_k = f16kv ? GGML_TYPE_F16 : GGML_TYPE_F32;
  cp.type_v = f16kv ? GGML_TYPE_F16 : GGML_TYPE_F32;
  if (const char* fa = std::getenv("FLASH_ATTN")) {
    const std::string v = fa;
    cp.flash_attn_type = v == "off" ? LLAMA_FLASH_ATTN_TYPE_DISABLED
                         : v == "on" ? LLAMA_FLASH_ATTN_TYPE_ENABLED
                                     : LLAMA_FLASH_ATTN_TYPE_AUTO;
  }
  DumpState dump;
  if (const char* dd = std::getenv("DUMP_DIR")) {
    const char* dm = std::getenv("DUMP_MATCH");
    dump.dir = dd;
    dump.match = std::regex(dm ? dm : "-0$|^l_out|^result");
    cp.cb_eval = dump_tensor;
    cp.cb_eval_user_data = &dump;
  }
  llama_context* ctx = llama_init_from_model(model, cp);
  if (!ctx) { std::fprintf(stderr, "cannot create context\n"); return 1; }

  llama_batch b = llama_batch_init(n, 0, 1);
  for (int i = 0; i < n; ++i) {
    b.token[i] = toks[size_t(i)];
    b.pos[i] = i;
    b.n_seq_id[i] = 1;
    b.seq_id[i][0] = 0;
    b.logits[i] = 1;
  }
  b.n_tokens = n;
  if (llama_decode(ctx, b) != 0) { std::fprintf(stderr, "llama_decode failed\n"); return 1; }

  std::ofstream tf(prefix + ".tokens"), out(prefix + ".tsv");
  for (int i = 0; i < n; ++i) tf << (i ? " " : "") << toks[size_t(i)];
  tf << "\n";
  out << "pos\ttoken\ttop1\tnll_next\n";
  double nll = 0;
  for (int i = 0; i < n; ++i) {
    const float* l = llama_get_logits_ith(ctx, i);
    int best = 0;
    double mx = l[0];
    for (int v = 1; v < n_vocab; ++v)
      if (l[v] > mx) { mx = l[v]; best = v; }
    out << i << "\t" << toks[size_t(i)] << "\t" << best << "\t";
    if (i + 1 < n) {
      double s = 0;
      for (int v = 0; v < n_vocab; ++v) s += std::exp(double(l[v]) - mx);
      const double x = mx + std::log(s) - double(l[toks[size_t(i) + 1]]);
      nll += x;
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.6f", x);
      out << buf;
    }
    out << "\n";
  }
  if (const char* lo = std::getenv("LOGITS_OUT")) {
    std::ofstream lf(lo, std::ios::binary);
    for (int i = 0; i < n; ++i)
      lf.write(reinterpret_cast<const char*>(llama_get_logits_ith(ctx, i)), std::streamsize(sizeof(float)) * n_vocab);
  }
  std::printf("perplexity: %.4f over %d predicted tokens (mean nll %.6f)\n", std::exp(nll / (n - 1)), n - 1,
              nll / (n - 1));
  llama_batch_free(b);
  llama_free(ctx);
  llama_model_free(model);
  llama_backend_free();
  return 0;
}
