// A small streaming JSON writer for dtsim's outputs (private to scenarios/).
// Output is deterministic: keys appear in the order written, doubles print
// with "%.9g" (non-finite values as null), integers exactly, strings escaped
// per RFC 8259 with non-ASCII bytes passed through.
//
// Example:
//   JsonWriter w(2);
//   w.begin_object();
//   w.key("step_time_s").number(1.25);
//   w.key("stages").begin_array().integer(0).integer(1).end_array();
//   w.end_object();
//   std::string text = w.take();   // {\n  "step_time_s": 1.25,\n  "stages": [\n    0,\n    1\n  ]\n}
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dtsim::scenarios::detail {

class JsonWriter {
 public:
  // indent 0: everything on one line, no spaces.
  explicit JsonWriter(int indent = 0) : indent_(indent) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& string(std::string_view v);
  JsonWriter& number(double v);
  JsonWriter& integer(std::int64_t v);
  JsonWriter& unsigned_integer(std::uint64_t v);
  JsonWriter& boolean(bool v);
  JsonWriter& null();
  // A number given as its JSON text (e.g. a timestamp formatted exactly).
  JsonWriter& raw_number(std::string_view text);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void before_value();
  void newline();

  struct Level {
    bool is_object = false;
    bool empty = true;
  };
  int indent_;
  std::string out_;
  std::vector<Level> levels_;
  bool after_key_ = false;
};

// The string as a JSON string literal, quotes included.
std::string json_string(std::string_view v);

}  // namespace dtsim::scenarios::detail
