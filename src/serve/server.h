// `dsv3 serve`: an OpenAI-compatible HTTP server (cpp-httplib) over the continuous-batching
// Scheduler. Routes: POST /v1/chat/completions, POST /v1/completions, GET /v1/models,
// GET /health, GET /metrics (Prometheus text), GET / (chat page). Each request gets a
// per-request event queue filled by the scheduler thread (on_event only pushes); the HTTP
// thread detokenizes, applies stop strings / reasoning split / tool-call parsing and writes the
// response or SSE chunks. A streaming client whose socket write fails is cancelled at once; a
// non-streamed one is cancelled as soon as its socket shows the peer closed (polled every 50 ms).
// Overload answers: 429 + Retry-After when the wait queue is full (transient: retry), 503 +
// Retry-After when the prompt needs more KV pages than the whole pool holds (the operator must
// start the server with a larger --kv-tokens; another replica may serve it).
// Binds loopback addresses only.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "runtime/scheduler.h"
#include "serve/openai_api.h"

namespace httplib {
class Server;
}

namespace dsv3::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";           // loopback only: 127.0.0.1, localhost or ::1
  int port = 0;                             // 0: an ephemeral port (see Server::port())
  size_t max_body_bytes = size_t(1) << 20;  // larger bodies get 413
  int http_threads = 64;                    // concurrent connections served
  int listen_backlog = 1024;                // pending connects (capped by net.core.somaxconn)
};

class Server {
 public:
  // `api` describes the model (name, ctx, tokenizer, template); all pointers must outlive this.
  Server(Scheduler& sched, ApiContext api, ServerOptions opt);
  ~Server();  // stops listening and joins the listener thread
  // Binds (throws dsv3::Error if it cannot) and starts serving on a background thread.
  void start();
  // Binds and serves on the calling thread until stop().
  void run();
  void stop();
  int port() const { return port_; }

  struct Counters {
    std::atomic<int64_t> http_requests{0}, completions_ok{0}, errors_4xx{0}, errors_5xx{0};
    std::atomic<int64_t> prompt_tokens{0}, completion_tokens{0}, cancelled{0};
  };
  const Counters& counters() const { return counters_; }

 private:
  void bind();
  void routes();
  std::string metrics_text() const;

  Scheduler& sched_;
  ApiContext api_;
  ServerOptions opt_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  int port_ = 0;
  int listen_fd_ = -1;  // httplib's server socket, seen through its socket-options hook
  Counters counters_;
};

// The chat page served at GET / (plain HTML + JS).
const char* chat_page_html();

}  // namespace dsv3::serve
