// Memory accounting for `dsv3 run` / `dsv3 bench` (issues 5 and 10): an estimate of the
// activation / scratch / logits buffers a forward pass allocates, and what the process really
// holds (peak RSS, and how much of the memory-mapped weight files is resident), so the report
// can say peak RSS ~= resident weights + KV cache + buffers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/config.h"

namespace dsv3 {

// Upper estimate of the heap buffers of one forward pass over a chunk of `chunk` tokens with
// `ctx_len` tokens in the cache (activations of the residual stream, attention q / latent /
// decompressed K and V of the naive MLA prompt path, dense and expert FFN widths, the packed
// prefill copy of x, one row of logits per token when `all_logits` else one row, per-thread
// kernel scratch) plus the generator's persistent buffers (`mtp`: the hidden-state history of
// ctx_len rows and a draft logits row). Bytes.
size_t forward_buffer_bytes(const ModelConfig& c, int64_t chunk, int64_t ctx_len, bool all_logits,
                            bool mtp, int threads);

// Peak resident set size of this process so far (getrusage ru_maxrss), bytes.
size_t peak_rss_bytes();

// Resident bytes (Rss in /proc/self/smaps) of the file mappings whose path starts with
// `dir_prefix`: the touched part of the memory-mapped weights. 0 if unknown.
size_t resident_mapped_bytes(const std::string& dir_prefix);

}  // namespace dsv3
