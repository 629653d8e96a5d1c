// OpenAI-compatible HTTP server over the Scheduler (see server.h).
#include "serve/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <mutex>

#include "core/error.h"
#include "serve/conn_watch.h"
#include "serve/text_stream.h"
#include "text/utf8.h"

namespace dsv3::serve {

using json = nlohmann::json;

namespace {

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Events of one request, filled by the scheduler thread, drained by the HTTP thread.
struct Job {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<TokenEvent> events;
  std::atomic<bool> abandon{false};  // on_event answers false: the scheduler cancels the sequence
  uint64_t id = 0;
};

// Detokenizes and post-processes the events of one request into deltas.
class Output {
 public:
  Output(const ApiContext& c, const GenRequest& r)
      : c_(c), r_(r), stop_(r.stop), reasoning_(r.start_in_reasoning) {
    if (c.tok) sd_ = std::make_unique<StreamDecoder>(*c.tok, false);
  }
  struct Piece {
    std::string reasoning, content;
    json logprobs = json::array();  // chat-format entries for this piece's tokens
    std::vector<int32_t> tokens;
  };
  // Consumes one event; returns true on the sequence's last event.
  bool consume(const TokenEvent& ev, Piece& p) {
    if (ev.token >= 0 && !stop_.stopped()) {
      ++completion_tokens;
      p.tokens.push_back(ev.token);
      const bool eos = c_.tok && ev.token == c_.tok->eos_id();
      if (sd_ && !eos) route(sd_->push(ev.token), false, p);
      if (r_.top_logprobs >= 0) p.logprobs.push_back(logprob_entry(ev));
    }
    if (ev.finish == FinishReason::kNone) return false;
    if (sd_) route(sd_->flush(), true, p);
    switch (ev.finish) {
      case FinishReason::kLength:
        finish_reason = "length";
        break;
      case FinishReason::kError:
        finish_reason = "error";
        error = ev.error;
        break;
      case FinishReason::kCancelled:
        finish_reason = stop_.stopped() ? "stop" : "cancelled";
        break;
      default:
        finish_reason = "stop";
    }
    if (r_.chat && r_.tools) {
      tool_calls = tools_.tool_calls();
      if (!tool_calls.empty()) finish_reason = "tool_calls";
    }
    return true;
  }
  bool stop_hit() const { return stop_.stopped(); }

  std::string finish_reason, error;
  int64_t completion_tokens = 0;
  json tool_calls = json::array();

 private:
  void route(const std::string& text, bool last, Piece& p) {
    std::string s;
    stop_.push(text, s);
    if (last) stop_.flush(s);
    if (!r_.chat) {
      p.content += s;
      return;
    }
    std::string c1;
    reasoning_.push(s, p.reasoning, c1);
    if (last) reasoning_.flush(p.reasoning, c1);
    if (!r_.tools) {
      p.content += c1;
      return;
    }
    tools_.push(c1, p.content);
    if (last) tools_.flush(p.content);
  }
  json token_json(int32_t id, float lp) const {
    std::string raw = c_.tok ? c_.tok->token_bytes(id, false) : "";
    json bytes = json::array();
    for (unsigned char ch : raw) bytes.push_back(int(ch));
    return {{"token", utf8::repair(raw)}, {"logprob", lp}, {"bytes", bytes}};
  }
  json logprob_entry(const TokenEvent& ev) const {
    json e = token_json(ev.token, ev.logprob);
    json top = json::array();
    for (auto& [id, lp] : ev.top) top.push_back(token_json(id, lp));
    e["top_logprobs"] = top;
    return e;
  }

  const ApiContext& c_;
  const GenRequest& r_;
  std::unique_ptr<StreamDecoder> sd_;
  StopMatcher stop_;
  ReasoningParser reasoning_;
  ToolCallParser tools_;
};

// Completions-format logprobs ({tokens, token_logprobs, top_logprobs, text_offset}) from
// chat-format entries.
json completion_logprobs(const json& entries, size_t offset0) {
  json out = {{"tokens", json::array()},
              {"token_logprobs", json::array()},
              {"top_logprobs", json::array()},
              {"text_offset", json::array()}};
  size_t off = offset0;
  for (auto& e : entries) {
    out["tokens"].push_back(e["token"]);
    out["token_logprobs"].push_back(e["logprob"]);
    json top = json::object();
    for (auto& t : e["top_logprobs"]) top[t["token"].get<std::string>()] = t["logprob"];
    out["top_logprobs"].push_back(top);
    out["text_offset"].push_back(off);
    off += e["token"].get<std::string>().size();
  }
  return out;
}

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  if (e.status == 429 || e.status == 503) res.set_header("Retry-After", "1");
  res.set_content(dump(e.to_json()), "application/json");
}

std::atomic<uint64_t> g_next_id{1};

}  // namespace

Server::Server(Scheduler& sched, ApiContext api, ServerOptions opt)
    : sched_(sched),
      api_(std::move(api)),
      opt_(std::move(opt)),
      http_(std::make_unique<httplib::Server>()) {
  DSV3_CHECK(opt_.host == "127.0.0.1" || opt_.host == "localhost" || opt_.host == "::1",
             "--host must be a loopback address (127.0.0.1, localhost or ::1), got '", opt_.host,
             "'");
  DSV3_CHECK(opt_.port >= 0 && opt_.port <= 65535, "--port must be in [0, 65535], got ", opt_.port);
  DSV3_CHECK(opt_.http_threads > 0, "http threads must be > 0");
  routes();
}

Server::~Server() {
  stop();
}

void Server::bind() {
  // httplib 0.11 listens with a backlog of 5, which drops bursts of simultaneous connects. Its
  // socket-options hook sees the server socket before bind; listen() again on a listening
  // socket raises the backlog (Linux). SO_REUSEADDR instead of httplib's default SO_REUSEPORT:
  // restarts reuse a port in TIME_WAIT, but a second server on a busy port fails to bind.
  http_->set_socket_options([this](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_fd_ = sock;
  });
  if (opt_.port == 0)
    port_ = http_->bind_to_any_port(opt_.host);
  else
    port_ = http_->bind_to_port(opt_.host, opt_.port) ? opt_.port : -1;
  DSV3_CHECK(port_ > 0, "serve: cannot bind ", opt_.host, ":", opt_.port);
  DSV3_CHECK(listen_fd_ >= 0 && ::listen(listen_fd_, opt_.listen_backlog) == 0,
             "serve: cannot set the listen backlog of ", opt_.host, ":", port_);
}

void Server::start() {
  bind();
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  while (!http_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void Server::run() {
  bind();
  http_->listen_after_bind();
}

void Server::stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string Server::metrics_text() const {
  const SchedulerStats s = sched_.stats();
  std::string o;
  auto metric = [&](const char* name, const char* type, const char* help, double v) {
    o += str("# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n", name, " ", v, "\n");
  };
  metric("dsv3_requests_total", "counter", "Generation requests admitted by the scheduler.",
         double(s.requests_total));
  metric("dsv3_requests_rejected_total", "counter",
         "Requests refused because the queue was full (429).", double(s.requests_rejected));
  metric("dsv3_http_requests_total", "counter", "HTTP requests answered.",
         double(counters_.http_requests));
  metric("dsv3_http_client_errors_total", "counter", "HTTP 4xx answers.",
         double(counters_.errors_4xx));
  metric("dsv3_http_server_errors_total", "counter", "HTTP 5xx answers.",
         double(counters_.errors_5xx));
  metric("dsv3_requests_cancelled_total", "counter",
         "Sequences cancelled (client gone, stop string).", double(counters_.cancelled));
  metric("dsv3_prompt_tokens_total", "counter", "Prompt tokens processed.", double(s.tokens_in));
  metric("dsv3_generation_tokens_total", "counter", "Tokens generated.", double(s.tokens_out));
  metric("dsv3_mtp_draft_tokens_total", "counter", "MTP draft tokens verified.", double(s.mtp_drafted));
  metric("dsv3_mtp_accepted_tokens_total", "counter", "MTP draft tokens accepted.",
         double(s.mtp_accepted));
  metric("dsv3_queue_length", "gauge", "Requests waiting for KV pages or a batch place.",
         double(s.queue_length));
  metric("dsv3_active_sequences", "gauge", "Sequences running (holding KV pages).", double(s.active));
  metric("dsv3_kv_cache_tokens_used", "gauge", "KV cache tokens held by running sequences.", double(s.kv_tokens_used));
  metric("dsv3_kv_cache_tokens_capacity", "gauge", "KV cache tokens in the pool.",
         double(s.kv_tokens_capacity));
  metric("dsv3_kv_cache_pages_used", "gauge", "KV pool pages held by sequences.",
         double(s.kv_pages_used));
  metric("dsv3_kv_cache_pages_total", "gauge", "KV pool pages.", double(s.kv_pages_total));
  metric("dsv3_kv_cache_preemptions_total", "counter",
         "Sequences preempted (pages freed, recomputed later) because the KV pool was full.",
         double(s.preemptions));
  metric("dsv3_kv_cache_usage_ratio", "gauge", "Fraction of the KV pool's pages in use.",
         s.kv_pages_total > 0 ? double(s.kv_pages_used) / double(s.kv_pages_total) : 0.0);
  metric("dsv3_decode_tokens_per_second", "gauge",
         "Generated tokens per second over the last ~10 s.", s.decode_tokens_per_second);
  metric("dsv3_scheduler_steps_total", "counter", "Batched forward steps run.", double(s.steps));
  return o;
}

void Server::routes() {
  httplib::Server& h = *http_;
  h.new_task_queue = [n = opt_.http_threads] { return new httplib::ThreadPool(size_t(n)); };
  h.set_payload_max_length(opt_.max_body_bytes);
  h.set_logger([this](const httplib::Request&, const httplib::Response& res) {
    ++counters_.http_requests;
    if (res.status >= 400 && res.status < 500) ++counters_.errors_4xx;
    if (res.status >= 500) ++counters_.errors_5xx;
  });
  h.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string msg = str("HTTP ", res.status);
    std::string code;
    if (res.status == 404)
      msg = str("no route for ", req.method, " ", req.path), code = "not_found";
    if (res.status == 413)
      msg = str("request body exceeds the limit of ", opt_.max_body_bytes, " bytes"),
      code = "request_too_large";
    if (res.status == 405) msg = str("method ", req.method, " not allowed on ", req.path);
    res.set_content(dump(error_json(res.status, msg, "", code)), "application/json");
  });
  h.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        try {
          std::rethrow_exception(ep);
        } catch (const ApiError& e) {
          send_error(res, e);
        } catch (const std::exception& e) {
          send_error(res, ApiError(500, e.what()));
        } catch (...) {
          send_error(res, ApiError(500, "unknown error"));
        }
      });

  h.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    const SchedulerStats s = sched_.stats();
    res.set_content(
        dump({{"status", "ok"}, {"active", s.active}, {"queue_length", s.queue_length}}),
        "application/json");
  });
  h.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_text(), "text/plain; version=0.0.4");
  });
  h.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    json m = {{"id", api_.model_name},
              {"object", "model"},
              {"created", 0},
              {"owned_by", "dsv3"},
              {"context_length", api_.ctx}};
    res.set_content(dump({{"object", "list"}, {"data", json::array({m})}}), "application/json");
  });
  h.Get("/v1/models/(.+)", [this](const httplib::Request& req, httplib::Response& res) {
    if (req.matches[1] != api_.model_name)
      return send_error(
          res, ApiError(404, str("The model '", std::string(req.matches[1]), "' does not exist"),
                        "model", "model_not_found"));
    res.set_content(
        dump({{"id", api_.model_name}, {"object", "model"}, {"created", 0}, {"owned_by", "dsv3"}}),
        "application/json");
  });
  h.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(chat_page_html(), "text/html; charset=utf-8");
  });

  auto generate = [this](const httplib::Request& req, httplib::Response& res, bool chat) {
    GenRequest gr;
    try {
      gr = chat ? parse_chat_request(req.body, api_) : parse_completion_request(req.body, api_);
    } catch (const ApiError& e) {
      return send_error(res, e);
    }
    auto job = std::make_shared<Job>();
    auto greq = std::make_shared<GenRequest>(std::move(gr));
    SeqRequest sr;
    sr.prompt = greq->prompt;
    sr.max_new_tokens = greq->max_tokens;
    sr.sampling = greq->sampling;
    sr.top_logprobs = greq->top_logprobs;
    sr.ignore_eos = greq->ignore_eos;
    sr.on_event = [job](const TokenEvent& ev) {  // scheduler thread: push only
      {
        std::lock_guard<std::mutex> lk(job->mu);
        job->events.push_back(ev);
      }
      job->cv.notify_one();
      return !job->abandon.load();
    };
    try {
      job->id = sched_.submit(std::move(sr));
    } catch (const KvPoolTooSmall& e) {  // the server's pool is too small for this prompt
      return send_error(res, ApiError(503, e.what(), chat ? "messages" : "prompt", "kv_cache_too_small"));
    } catch (const std::exception& e) {
      return send_error(res, ApiError(400, e.what(), chat ? "messages" : "prompt"));
    }
    if (job->id == 0)
      return send_error(
          res, ApiError(429, "the server is busy: the request queue is full; retry later", "",
                        "queue_full"));
    const std::string id = str(chat ? "chatcmpl-" : "cmpl-", g_next_id++);
    const int64_t created = int64_t(std::time(nullptr));
    const int64_t n_prompt = int64_t(greq->prompt.size());
    auto out = std::make_shared<Output>(api_, *greq);
    auto cancel = [this, job] {
      if (!job->abandon.exchange(true)) {
        sched_.cancel(job->id);
        ++counters_.cancelled;
      }
    };
    auto usage = [n_prompt](const Output& o) {
      return json{{"prompt_tokens", n_prompt},
                  {"completion_tokens", o.completion_tokens},
                  {"total_tokens", n_prompt + o.completion_tokens}};
    };

    if (!greq->stream) {
      std::string reasoning, content;
      json logprobs = json::array();
      std::vector<int32_t> tokens;
      // Nothing is written until the answer is complete, so a vanished client is noticed by
      // watching its socket (found by address; httplib 0.11 does not expose it) every 50 ms.
      // Checked on a clock, not only when idle: a fast model keeps events coming all the time.
      const int fd = find_connection_fd(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
      auto next_check = std::chrono::steady_clock::now();
      for (bool done = false; !done;) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= next_check) {
          next_check = now + std::chrono::milliseconds(50);
          if (fd >= 0 && !job->abandon.load() && peer_closed(fd)) cancel();
        }
        std::deque<TokenEvent> evs;
        {
          std::unique_lock<std::mutex> lk(job->mu);
          if (!job->cv.wait_until(lk, next_check, [&] { return !job->events.empty(); })) continue;
          evs.swap(job->events);
        }
        for (auto& ev : evs) {
          if (done) break;
          Output::Piece p;
          done = out->consume(ev, p);
          reasoning += p.reasoning, content += p.content;
          for (auto& e : p.logprobs) logprobs.push_back(e);
          tokens.insert(tokens.end(), p.tokens.begin(), p.tokens.end());
          if (out->stop_hit() && !done) cancel();
        }
      }
      if (out->finish_reason == "error")
        return send_error(res, ApiError(500, "generation failed: " + out->error));
      if (out->finish_reason == "cancelled")  // the client is gone (or the server is stopping)
        return send_error(res, ApiError(503, "request cancelled", "", "cancelled"));
      counters_.completion_tokens += out->completion_tokens;
      ++counters_.completions_ok;
      json choice;
      if (chat) {
        json msg = {{"role", "assistant"}, {"content", content}};
        if (!reasoning.empty() || greq->start_in_reasoning) msg["reasoning_content"] = reasoning;
        if (!out->tool_calls.empty()) {
          msg["tool_calls"] = out->tool_calls;
          if (content.empty()) msg["content"] = nullptr;
        }
        choice = {
            {"index", 0},
            {"message", msg},
            {"logprobs", greq->top_logprobs >= 0 ? json{{"content", logprobs}} : json(nullptr)},
            {"finish_reason", out->finish_reason}};
      } else {
        std::string text = content;
        size_t off0 = 0;
        if (greq->echo && api_.tok) {
          const std::string ptxt = api_.tok->decode(greq->prompt, false);
          text = ptxt + text, off0 = ptxt.size();
        }
        choice = {{"index", 0},
                  {"text", text},
                  {"logprobs",
                   greq->top_logprobs >= 0 ? completion_logprobs(logprobs, off0) : json(nullptr)},
                  {"finish_reason", out->finish_reason},
                  {"token_ids", tokens}};
      }
      json body = {{"id", id},
                   {"object", chat ? "chat.completion" : "text_completion"},
                   {"created", created},
                   {"model", api_.model_name},
                   {"choices", json::array({choice})},
                   {"usage", usage(*out)}};
      res.set_content(dump(body), "application/json");
      return;
    }

    // Streaming: one SSE chunk per batch of events drained; heartbeat comments while idle so a
    // vanished client is noticed.
    res.set_header("Cache-Control", "no-cache");
    auto first = std::make_shared<bool>(true);
    auto chunk = [this, id, created, chat](json choice) {
      choice["index"] = 0;
      json c = {{"id", id},
                {"object", chat ? "chat.completion.chunk" : "text_completion"},
                {"created", created},
                {"model", api_.model_name},
                {"choices", json::array({choice})}};
      return "data: " + dump(c) + "\n\n";
    };
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, job, out, greq, first, chunk, cancel, usage, id, created, chat](
            size_t, httplib::DataSink& sink) {
          auto write = [&](const std::string& s) {
            if (!sink.write(s.data(), s.size())) {
              cancel();
              return false;
            }
            return true;
          };
          if (*first && chat) {
            *first = false;
            if (!write(chunk({{"delta", {{"role", "assistant"}, {"content", ""}}},
                              {"logprobs", nullptr},
                              {"finish_reason", nullptr}})))
              return false;
          }
          std::deque<TokenEvent> evs;
          {
            std::unique_lock<std::mutex> lk(job->mu);
            job->cv.wait_for(lk, std::chrono::milliseconds(500),
                             [&] { return !job->events.empty(); });
            evs.swap(job->events);
          }
          if (evs.empty()) return write(": keep-alive\n\n");
          Output::Piece p;
          bool done = false;
          for (auto& ev : evs) {
            if (done) break;
            done = out->consume(ev, p);
            if (out->stop_hit() && !done) cancel();
          }
          const bool has_text = !p.content.empty() || !p.reasoning.empty();
          if (has_text || !p.logprobs.empty()) {
            json choice;
            if (chat) {
              json delta = json::object();
              if (!p.reasoning.empty()) delta["reasoning_content"] = p.reasoning;
              if (!p.content.empty() || p.reasoning.empty()) delta["content"] = p.content;
              choice = {{"delta", delta},
                        {"logprobs",
                         greq->top_logprobs >= 0 ? json{{"content", p.logprobs}} : json(nullptr)},
                        {"finish_reason", nullptr}};
            } else {
              choice = {{"text", p.content},
                        {"logprobs", greq->top_logprobs >= 0 ? completion_logprobs(p.logprobs, 0)
                                                             : json(nullptr)},
                        {"finish_reason", nullptr}};
            }
            if (!write(chunk(choice))) return false;
          }
          if (!done) return true;
          if (out->finish_reason == "cancelled") return false;  // nobody is listening
          counters_.completion_tokens += out->completion_tokens;
          ++counters_.completions_ok;
          json last;
          if (chat) {
            json delta = json::object();
            if (!out->tool_calls.empty()) {
              json calls = out->tool_calls;
              for (size_t i = 0; i < calls.size(); ++i) calls[i]["index"] = i;
              delta["tool_calls"] = calls;
            }
            last = {{"delta", delta}, {"logprobs", nullptr}, {"finish_reason", out->finish_reason}};
          } else {
            last = {{"text", ""}, {"logprobs", nullptr}, {"finish_reason", out->finish_reason}};
          }
          if (out->finish_reason == "error")
            last["error"] = {{"message", out->error}, {"type", "server_error"}};
          if (!write(chunk(last))) return false;
          if (greq->include_usage) {
            json u = {{"id", id},
                      {"object", chat ? "chat.completion.chunk" : "text_completion"},
                      {"created", created},
                      {"model", api_.model_name},
                      {"choices", json::array()},
                      {"usage", usage(*out)}};
            if (!write("data: " + dump(u) + "\n\n")) return false;
          }
          if (!write("data: [DONE]\n\n")) return false;
          sink.done();
          return true;
        },
        [cancel](bool success) {
          if (!success) cancel();
        });
  };
  h.Post("/v1/chat/completions", [generate](const httplib::Request& req, httplib::Response& res) {
    generate(req, res, true);
  });
  h.Post("/v1/completions", [generate](const httplib::Request& req, httplib::Response& res) {
    generate(req, res, false);
  });
}

}  // namespace dsv3::serve
