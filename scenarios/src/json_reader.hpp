// Strict reading of JSON input (private to scenarios/): parsing with line and
// column on syntax errors, limits on nesting, rejection of duplicate keys, and
// the small vocabulary every error message is built from (JSON pointers,
// "got <value> (<type>)", "did you mean").
//
// Example:
//   Json doc = parse_json_document(text);            // throws InputError
//   Diagnostics d;
//   check_keys(doc, "", {"schema_version", "model"}, d);
//   // d.items(): {"/modle", "unknown key; did you mean 'model'?"}
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dtsim/core/error.hpp"
#include "dtsim/scenarios/did_you_mean.hpp"

namespace dtsim::scenarios::detail {

using Json = nlohmann::json;

// Documents nested deeper than this are rejected before anything reads them.
inline constexpr int kMaxJsonDepth = 64;

// Parses one JSON document. Throws InputError with path "" for a syntax error
// ("JSON syntax error at line 3, column 14: ..."), a number out of range, a
// document nested deeper than kMaxJsonDepth, or a key repeated in one object
// (path of that object).
Json parse_json_document(std::string_view text);

// Problems found while reading, in the order found.
class Diagnostics {
 public:
  void add(std::string path, std::string message) { items_.push_back({std::move(path), std::move(message)}); }
  void append(std::vector<Diagnostic> more);
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  // Throws InputError with every item when there is any.
  void throw_if_any() const;

 private:
  std::vector<Diagnostic> items_;
};

// `path` + "/" + `key`, escaped as RFC 6901 requires (~ and /), with control
// characters shown as \uXXXX and very long keys shortened, so that a path is
// always one printable line.
std::string child_path(std::string_view path, std::string_view key);
std::string child_path(std::string_view path, std::size_t index);

// "object", "array", "string", "number", "boolean" or "null".
std::string_view type_name(const Json& v);

// A value as error messages show it: `"8" (string)`, `8.5 (number)`,
// `{...} (object)`; long strings are shortened.
std::string describe(const Json& v);

// Quotes a name for a message ('name'), with unprintable bytes replaced.
std::string quote(std::string_view name);

// "a, b, c".
std::string join(std::span<const std::string_view> names);
std::string join(const std::vector<std::string>& names);

// Reports every key of `object` (at `path`) not in `known`, with a hint.
void check_keys(const Json& object, std::string_view path, std::span<const std::string_view> known, Diagnostics& out);

// Message for a name that is not one of `known` (used for keys, choices,
// built-in model and hardware names): "did you mean 'x'?" when one is close,
// else "expected one of a, b, c" (or `list_intro` + the names).
std::string unknown_name_hint(std::string_view name, std::span<const std::string_view> known,
                              std::string_view list_intro = "expected one of ");

// Makes every byte printable ASCII (others become '?'): messages from the JSON
// library quote raw input, which may be invalid UTF-8 or control characters.
std::string printable(std::string_view text);

}  // namespace dtsim::scenarios::detail
