// Buffer estimate and resident-memory probes (memory_report.h).
#include "runtime/memory_report.h"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace dsv3 {

size_t forward_buffer_bytes(const ModelConfig& c, int64_t chunk, int64_t ctx_len, bool all_logits,
                            bool mtp, int threads) {
  const int64_t S = std::max<int64_t>(1, chunk), T = std::max<int64_t>(S, ctx_len);
  const int64_t D = c.hidden_size, H = c.num_attention_heads, V = c.vocab_size;
  const int64_t r = c.kv_lora_rank, dr = c.qk_rope_head_dim, dn = c.qk_nope_head_dim;
  const int64_t dv = c.v_head_dim, dqk = dn + dr;
  const int64_t I = std::max(c.intermediate_size,
                             c.moe_intermediate_size * std::max<int64_t>(1, c.n_shared_experts));
  const int64_t E = c.n_routed_experts;
  const int64_t kmax = std::max({D, I, H * dv, c.q_lora_rank, r});
  int64_t f = 0;                                  // floats
  f += 6 * S * D;                                 // embeddings / residual / norm / layer outputs
  f += S * (H * dqk + c.q_lora_rank + r + dr);    // q, compressed q, latent kv
  f += S * H * dv;                                // attention output
  if (S > 1) f += T * (r + H * (dn + dv)) + T;    // naive MLA: latent rows, decompressed K/V, scores
  else f += H * T + 3 * r;                        // absorbed decode: scores per head, latent rows
  f += 3 * S * I + S * E;                         // FFN gate / up (+ expert outputs), router logits
  f += S * kmax;                                  // packed prefill copy of x (matmul xT)
  f += (all_logits ? S : 1) * V;                  // logits
  f += int64_t(threads) * 16 * kmax;              // per-thread kernel scratch (FP8 bands, tiles)
  if (mtp) f += T * D + V;                        // generator: hidden history, draft logits
  return size_t(f) * sizeof(float);
}

size_t peak_rss_bytes() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return size_t(ru.ru_maxrss) * 1024;
}

size_t resident_mapped_bytes(const std::string& dir_prefix) {
  std::ifstream f("/proc/self/smaps");
  if (!f) return 0;
  std::string line;
  bool in = false;
  size_t total = 0;
  while (std::getline(f, line)) {
    // A mapping header: "start-end perms offset dev inode [path]" (the first field has a '-').
    const size_t sp = line.find(' ');
    if (sp != std::string::npos && line.find('-') < sp && line.find(':') > sp) {
      const size_t slash = line.find('/');
      in = slash != std::string::npos && line.compare(slash, dir_prefix.size(), dir_prefix) == 0;
      continue;
    }
    if (in && line.rfind("Rss:", 0) == 0) {
      std::istringstream is(line.substr(4));
      size_t kb = 0;
      is >> kb;
      total += kb * 1024;
    }
  }
  return total;
}

}  // namespace dsv3
