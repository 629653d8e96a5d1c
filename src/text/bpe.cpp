// BPE merge loop mirroring tokenizers' model/bpe (Word::merge_all with a binary heap).
#include "text/bpe.h"

#include <cstdio>
#include <queue>

#include "core/error.h"
#include "text/utf8.h"

namespace dsv3 {

Bpe::Bpe(TokenMap vocab, const std::vector<std::pair<std::string, std::string>>& merges,
         BpeOptions opt)
    : vocab_(std::move(vocab)), opt_(std::move(opt)) {
  int64_t max_id = -1;
  for (const auto& [tok, id] : vocab_) {
    if (id < 0) fail("vocab token '", tok, "' has negative id ", id);
    max_id = std::max<int64_t>(max_id, id);
  }
  if (max_id > 50000000) fail("vocab id ", max_id, " is implausibly large");
  id_to_token_.assign(size_t(max_id + 1), nullptr);
  for (const auto& kv : vocab_) {
    if (id_to_token_[kv.second])
      fail("vocab id ", kv.second, " is used twice ('", *id_to_token_[kv.second], "' and '",
           kv.first, "')");
    id_to_token_[kv.second] = &kv.first;
  }
  merges_.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    const auto& [a, b] = merges[r];
    int32_t ia = token_id(a), ib = token_id(b);
    if (ia < 0) fail("merge #", r, " '", a, " ", b, "': token '", a, "' is not in the vocab");
    if (ib < 0) fail("merge #", r, " '", a, " ", b, "': token '", b, "' is not in the vocab");
    int32_t inew = token_id(a + b);
    if (inew < 0)
      fail("merge #", r, " '", a, " ", b, "': merged token '", a + b, "' is not in the vocab");
    merges_.insert_or_assign(key(ia, ib), std::make_pair(int32_t(r), inew));
  }
  if (!opt_.unk_token.empty()) {
    unk_id_ = token_id(opt_.unk_token);
    if (unk_id_ < 0) fail("unk_token '", opt_.unk_token, "' is not in the vocab");
  }
  if (opt_.byte_fallback) {
    byte_fallback_ids_.resize(256);
    for (int b = 0; b < 256; ++b) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<0x%02X>", b);
      byte_fallback_ids_[b] = token_id(buf);
    }
  }
}

int32_t Bpe::token_id(std::string_view tok) const {
  auto it = vocab_.find(tok);
  return it == vocab_.end() ? -1 : it->second;
}

const std::string* Bpe::token(int32_t id) const {
  return id >= 0 && size_t(id) < id_to_token_.size() ? id_to_token_[id] : nullptr;
}

void Bpe::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (opt_.ignore_merges) {
    int32_t id = token_id(word);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  if (word.size() > kCacheMaxWord) {
    merge_word(word, out);
    return;
  }
  {
    std::lock_guard<std::mutex> lk(cache_mu_);
    auto it = cache_.find(word);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  size_t start = out.size();
  merge_word(word, out);
  std::lock_guard<std::mutex> lk(cache_mu_);
  if (cache_.size() < kCacheCapacity)
    cache_.emplace(std::string(word), std::vector<int32_t>(out.begin() + start, out.end()));
}

void Bpe::merge_word(std::string_view w, std::vector<int32_t>& out) const {
  struct Sym {
    int32_t id;
    int32_t prev, next;
    bool alive;
  };
  thread_local std::vector<Sym> syms;
  syms.clear();
  auto add = [&](int32_t id) {
    int32_t n = int32_t(syms.size());
    if (n > 0) syms.back().next = n;
    syms.push_back({id, n - 1, -1, true});
  };
  // Initial symbols: one per character (HF merge_word), with unk / byte fallback.
  int32_t pending_unk = -1;  // HF keeps one pending unk (fused when fuse_unk)
  for (size_t i = 0; i < w.size();) {
    size_t len = utf8::step(w, i).len;
    std::string_view ch = w.substr(i, len);
    i += len;
    int32_t id = token_id(ch);
    if (id >= 0) {
      if (pending_unk >= 0) add(pending_unk), pending_unk = -1;
      add(id);
      continue;
    }
    if (opt_.byte_fallback) {
      bool all = true;
      for (unsigned char c : ch) all = all && byte_fallback_ids_[c] >= 0;
      if (all) {
        for (unsigned char c : ch) add(byte_fallback_ids_[c]);
        continue;
      }
    }
    if (unk_id_ >= 0) {
      if (pending_unk >= 0 && !opt_.fuse_unk) add(pending_unk);
      pending_unk = unk_id_;
    }
  }
  if (pending_unk >= 0) add(pending_unk);

  struct Merge {
    int32_t pos, rank, new_id;
    bool operator<(const Merge& o) const {  // max-heap on "smaller rank, then smaller pos"
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  thread_local std::vector<Merge> heap_storage;
  heap_storage.clear();
  std::priority_queue<Merge, std::vector<Merge>> q(std::less<Merge>(), std::move(heap_storage));
  auto lookup = [&](int32_t a, int32_t b) -> const std::pair<int32_t, int32_t>* {
    auto it = merges_.find(key(a, b));
    return it == merges_.end() ? nullptr : &it->second;
  };
  for (size_t k = 0; k + 1 < syms.size(); ++k)
    if (auto m = lookup(syms[k].id, syms[k + 1].id)) q.push({int32_t(k), m->first, m->second});
  while (!q.empty()) {
    Merge top = q.top();
    q.pop();
    Sym& cur = syms[top.pos];
    if (!cur.alive || cur.next < 0) continue;
    Sym& right = syms[cur.next];
    auto m = lookup(cur.id, right.id);
    if (!m || m->second != top.new_id) continue;  // expired entry
    cur.id = top.new_id;
    right.alive = false;
    int32_t rn = right.next;
    cur.next = rn;
    if (rn >= 0) syms[rn].prev = top.pos;
    if (cur.prev >= 0)
      if (auto pm = lookup(syms[cur.prev].id, cur.id)) q.push({cur.prev, pm->first, pm->second});
    if (rn >= 0)
      if (auto nm = lookup(cur.id, syms[rn].id)) q.push({top.pos, nm->first, nm->second});
  }
  for (const Sym& s : syms)
    if (s.alive) out.push_back(s.id);
}

}  // namespace dsv3
