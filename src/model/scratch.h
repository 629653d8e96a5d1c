// Per-thread reusable activation buffers for the forward pass, so that a warm decode loop
// does not allocate: every call site names its own slot; a slot grows to the largest request
// seen on that thread and is then reused. Slots used by nested calls must differ (they do:
// one slot per buffer in forward/mla/ffn). scratch_trim() releases slots above a size cap
// (large prefill chunks) so a long prompt does not pin its activations for the thread's life.
#pragma once
#include <cstddef>
#include <cstdint>

namespace dsv3 {

enum class Scratch : int {
  kFwdX, kFwdHn, kFwdHsel, kFwdLogits,              // forward_batch
  kLayerH, kLayerY,                                  // decoder layer
  kMlaQ, kMlaCq, kMlaKv, kMlaO, kMlaQcat, kMlaLatv,  // MLA
  kMlaPartM, kMlaPartL, kMlaPartAcc, kMlaRow,
  kFfnG, kFfnU,                                      // SwiGLU
  kMoeLogits, kMoeBias, kMoeWt, kMoeXin, kMoeY, kMoeSh, kMoeTokW,
  kMtpEh, kMtpRow, kMtpX, kMtpHn, kMtpLogits,        // MTP module
  kCount
};

// At least n floats, valid until the next scratch_floats(slot, ...) or scratch_trim() on this
// thread. Contents are unspecified.
float* scratch_floats(Scratch slot, size_t n);
// Same for int64 values (their own slots, independent of the float ones).
int64_t* scratch_i64(Scratch slot, size_t n);
// Frees this thread's slots larger than `keep_bytes`.
void scratch_trim(size_t keep_bytes = size_t(64) << 20);

}  // namespace dsv3
