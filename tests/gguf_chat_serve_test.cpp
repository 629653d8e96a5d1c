// `dsv3 chat` and `dsv3 serve` end to end on GGUF files, split ones included (the CLI binary,
// the server as a child process on an ephemeral port):
//   * the built-in R1-style model as a deepseek2 Q8_0 GGUF (tokenizer and R1 chat template
//     stored in the file), split in 4 shards at run time: chat shows <think> and answers as the
//     unsplit file does; the server's reply splits the reasoning into reasoning_content, equal
//     to what `dsv3 run --chat` prints for the unsplit file (plain and streamed);
//   * a dense qwen2 GGUF (split) whose tokenizer.chat_template is an R1-distill template: the
//     server renders the template read from the GGUF (prompt_tokens equal to the rendered text's
//     tokens) and answers in reasoning_content when the template opened <think>, in content
//     when it did not (R1-Distill-Qwen-32B's current template closes it).
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "gguf_split_writer.h"
#include "io/gguf.h"
#include "test_util.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

extern char** environ;

using namespace dsv3;
using json = nlohmann::json;

namespace {

// `dsv3 serve ARGS --port 0` as a child process; the port is read from its stderr line.
class ServeProcess {
 public:
  explicit ServeProcess(const std::string& args) {
    log_ = dir_.path + "/serve.log";
    const std::string cmd =
        std::string("exec ") + DSV3_CLI + " serve " + args + " --port 0 -t 1 2>" + log_;
    const char* argv[] = {"sh", "-c", cmd.c_str(), nullptr};
    if (posix_spawn(&pid_, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0)
      pid_ = -1;
    for (int i = 0; i < 600 && pid_ > 0 && port_ == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::ifstream f(log_);
      std::stringstream ss;
      ss << f.rdbuf();
      const std::string s = ss.str();
      const size_t p = s.find("on http://127.0.0.1:");
      if (p != std::string::npos) port_ = std::atoi(s.c_str() + p + 20);
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {  // exited: startup failed
        pid_ = -1;
        error_ = s;
      }
    }
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int st = 0;
      waitpid(pid_, &st, 0);
    }
  }
  int port() const { return port_; }
  const std::string& error() const { return error_; }
  httplib::Result post(const json& body) const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(120, 0);
    return c.Post("/v1/chat/completions", body.dump(), "application/json");
  }
  httplib::Result get(const std::string& path) const {
    httplib::Client c("127.0.0.1", port_);
    return c.Get(path.c_str());
  }

 private:
  test::ScopedTempDir dir_{"gguf_serve"};  // holds the log; removed after the process is gone
  pid_t pid_ = -1;
  int port_ = 0;
  std::string log_, error_;
};

json chat_body(const std::string& model, const std::string& q, bool stream, int max_tokens) {
  return {{"model", model},
          {"messages", {{{"role", "user"}, {"content", q}}}},
          {"temperature", 0},
          {"max_tokens", max_tokens},
          {"stream", stream}};
}

// reasoning_content and content of a finished SSE stream.
std::pair<std::string, std::string> collect_stream(const std::string& body) {
  std::string r, c;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("data: ", 0) != 0 || line == "data: [DONE]") continue;
    const json j = json::parse(line.substr(6));
    if (j["choices"].empty()) continue;
    const json& d = j["choices"][0]["delta"];
    if (d.contains("reasoning_content")) r += d["reasoning_content"].get<std::string>();
    if (d.contains("content")) c += d["content"].get<std::string>();
  }
  return {r, c};
}

// The built-in model's deepseek2 Q8_0 GGUF split in 4 shards (made once per process).
const std::vector<std::string>& builtin_split() {
  static const test::ScopedTempDir dir("gguf_chat_split");  // removed at exit
  static std::vector<std::string> paths = [] {
    auto g = GgufFile::open(test::data_path("gguf-deepseek2/builtin-q8_0.gguf"));
    return test::write_split(*g, dir.path + "/builtin-q8_0", test::plan_max_tensors(*g, 14));
  }();
  return paths;
}

TEST(GgufChatServe, ChatOnSplitDeepseek2GgufEqualsUnsplit) {
  ASSERT_EQ(builtin_split().size(), 4u);
  const std::string in = "What is 21+34?\n/clear\nWhat is 52*3?\n";
  auto whole =
      test::run_cli("chat -n 96 -m " + test::data_path("gguf-deepseek2/builtin-q8_0.gguf"), in);
  auto split = test::run_cli("chat -n 96 -m " + builtin_split()[1], in);
  ASSERT_EQ(whole.exit_code, 0) << whole.err;
  ASSERT_EQ(split.exit_code, 0) << split.err;
  EXPECT_NE(split.out.find("<think>\n"), std::string::npos) << split.out;
  EXPECT_NE(split.out.find("</think>\n\n55\n"), std::string::npos) << split.out;
  EXPECT_NE(split.out.find("</think>\n\n156\n"), std::string::npos) << split.out;
  EXPECT_EQ(split.out, whole.out);
}

TEST(GgufChatServe, ServeSplitDeepseek2GgufSplitsReasoning) {
  ServeProcess s("-m " + builtin_split()[2] + " --ctx 256");
  ASSERT_GT(s.port(), 0) << s.error();
  auto models = s.get("/v1/models");
  ASSERT_TRUE(models);
  const std::string id = json::parse(models->body)["data"][0]["id"];
  EXPECT_EQ(id, "builtin-q8_0.gguf") << "the split's name without -0000k-of-0000N";
  for (const char* q : {"What is 9-711?", "What is 347+589?"}) {
    auto ref =
        test::run_cli(std::string("run --chat -n 120 -m ") +
                      test::data_path("gguf-deepseek2/builtin-q8_0.gguf") + " -p \"" + q + "\"");
    ASSERT_EQ(ref.exit_code, 0) << ref.err;
    ASSERT_EQ(ref.out.rfind("<think>\n", 0), 0u) << ref.out;
    const size_t close = ref.out.find("</think>");
    ASSERT_NE(close, std::string::npos) << ref.out;
    const std::string want_r = ref.out.substr(8, close - 8);
    std::string want_c = ref.out.substr(close + 8);
    want_c.erase(0, want_c.find_first_not_of('\n'));
    while (!want_c.empty() && want_c.back() == '\n') want_c.pop_back();  // run's final newline

    auto r = s.post(chat_body(id, q, false, 120));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json j = json::parse(r->body);
    EXPECT_EQ(j["choices"][0]["message"]["reasoning_content"], want_r) << q;
    EXPECT_EQ(j["choices"][0]["message"]["content"], want_c) << q;
    EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
    auto st = s.post(chat_body(id, q, true, 120));
    ASSERT_TRUE(st);
    ASSERT_EQ(st->status, 200);
    const auto [sr, sc] = collect_stream(st->body);
    EXPECT_EQ(sr, want_r) << q;
    EXPECT_EQ(sc, want_c) << q;
  }
}

// The R1-Distill-Llama-8B template opens the reasoning ("<｜Assistant｜><think>\n"); the
// R1-Distill-Qwen-32B one as now published closes it again unless enable_thinking is given
// ("<think>\n</think>"), so its replies are plain content.
TEST(GgufChatServe, DenseGgufChatTemplateFromFileWithR1Reasoning) {
  for (const bool opens : {true, false}) {
    SCOPED_TRACE(opens ? "R1-Distill-Llama-8B template" : "R1-Distill-Qwen-32B template");
    std::ifstream f(test::data_path(opens
                                        ? "chat_templates/refs_DeepSeek-R1-Distill-Llama-8B.json"
                                        : "chat_templates/refs_DeepSeek-R1-Distill-Qwen-32B.json"));
    const std::string tmpl_src = json::parse(f)["template"];
    auto g = GgufFile::open(test::data_path("tiny-qwen2/tiny-qwen2-q8_0.gguf"));
    test::SplitPlan plan = test::plan_max_tensors(*g, 10);
    plan.extra_strings = {{"tokenizer.chat_template", tmpl_src}};
    const test::ScopedTempDir tmp("gguf_dense_tmpl");
    const auto paths = test::write_split(*g, tmp.path + "/qwen-r1", plan);
    auto tok = Tokenizer::from_file(paths[0]);
    ASSERT_EQ(tok->chat_template(), tmpl_src) << "the template stored in the GGUF";

    // What the server must feed the model: the GGUF's template rendered, then tokenised.
    ChatTemplate t(tok->chat_template());
    ChatTemplateOptions o;
    o.add_generation_prompt = true;
    o.bos_token = tok->bos_token();
    o.eos_token = tok->eos_token();
    const json msgs = json::array({{{"role", "user"}, {"content", "What is 2+2?"}}});
    const std::string rendered = t.render(msgs, o);
    const std::string tail =
        opens ? "<｜Assistant｜><think>\n" : "<｜Assistant｜><think>\n</think>";
    ASSERT_EQ(rendered.substr(rendered.size() - tail.size()), tail) << rendered;
    const size_t n_prompt = tok->encode(rendered, false).size();

    ServeProcess s("-m " + paths[0] + " --ctx 256");
    ASSERT_GT(s.port(), 0) << s.error();
    auto r = s.post(chat_body("qwen-r1.gguf", "What is 2+2?", false, 6));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const json j = json::parse(r->body);
    EXPECT_EQ(j["usage"]["prompt_tokens"], n_prompt);
    EXPECT_EQ(j["usage"]["completion_tokens"], 6);
    EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
    const json& m = j["choices"][0]["message"];
    if (opens) {  // the whole (unclosed) reply is reasoning
      ASSERT_TRUE(m.contains("reasoning_content")) << r->body;
      EXPECT_FALSE(m["reasoning_content"].get<std::string>().empty()) << r->body;
      EXPECT_EQ(m["content"], "") << r->body;
    } else {
      EXPECT_FALSE(m.contains("reasoning_content")) << r->body;
      EXPECT_FALSE(m["content"].get<std::string>().empty()) << r->body;
    }

    // `dsv3 chat` on the same split file shows the opened reasoning block first.
    auto c = test::run_cli("chat -n 4 -m " + paths[1], "What is 2+2?\n");
    ASSERT_EQ(c.exit_code, 0) << c.err;
    EXPECT_EQ(c.out.rfind("<think>\n", 0) == 0, opens) << c.out;
  }
}

}  // namespace
