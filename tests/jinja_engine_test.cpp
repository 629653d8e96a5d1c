// Jinja engine vs jinja2: every template in tests/data/chat_templates/jinja_cases.json was
// rendered by jinja2 3.1.6 in transformers' chat-template environment (trim_blocks,
// lstrip_blocks, sandbox, transformers' tojson); dsv3's engine must give the same bytes, and
// must raise dsv3::Error where jinja2 raised.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "test_util.h"
#include "text/jinja/template.h"

namespace {

using dsv3::jinja::Template;
using dsv3::jinja::Value;

TEST(JinjaEngine, MatchesJinja2Cases) {
  std::ifstream f(dsv3::test::data_path("chat_templates/jinja_cases.json"), std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  nlohmann::ordered_json doc = nlohmann::ordered_json::parse(ss.str());
  Value ctx = Value::from_json(doc["context"]);
  int ok = 0, err = 0;
  for (const auto& c : doc["cases"]) {
    std::string src = c["template"];
    SCOPED_TRACE("template: " + src);
    if (c.contains("expected")) {
      try {
        EXPECT_EQ(Template(src).render(ctx), c["expected"].get<std::string>());
      } catch (const dsv3::Error& e) {
        ADD_FAILURE() << "unexpected error: " << e.what();
      }
      ++ok;
    } else {
      EXPECT_THROW(Template(src).render(ctx), dsv3::Error) << "jinja2 raised: " << c["error"];
      ++err;
    }
  }
  EXPECT_GE(ok, 60);
  EXPECT_GE(err, 15);
}

TEST(JinjaEngine, ErrorMessagesCarryLine) {
  try {
    Template("a\nb\n{{ 1 + }}").render(Value());
    FAIL();
  } catch (const dsv3::Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
  try {
    Template("a\n{% if x %}\n{{ x.y.z }}{% endif %}")
        .render(Value::from_json(nlohmann::ordered_json{{"x", {{"q", 1}}}}));
    FAIL();
  } catch (const dsv3::Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
}

TEST(JinjaEngine, RunawayTemplatesAreStopped) {
  // Nested loops beyond the iteration budget and unbounded macro recursion fail cleanly.
  EXPECT_THROW(
      Template("{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}")
          .render(Value()),
      dsv3::Error);
  EXPECT_THROW(Template("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").render(Value()),
               dsv3::Error);
}

}  // namespace
