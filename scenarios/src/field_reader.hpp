// Table-driven reading of one JSON object into a struct (private to
// scenarios/). A section's table is an array of Field<T>: the documented
// Parameter plus the one line that stores a parsed value into T. read_fields()
// checks the object's keys against the table, parses and bounds-checks every
// value by its Parameter, applies defaults by parsing the table's default text
// exactly like user input, and reports what is missing.
//
// Example:
//   constexpr std::array<Field<Training>, 1> kFields{{
//     {{.key = "seq_len", .type = ValueType::kInteger, .min = 1},
//      [](Training& t, const Value& v) { t.seq_len = v.integer; }}}};
//   read_fields(json, "/training", kFields, training, diagnostics);
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dtsim/core/units.hpp"
#include "dtsim/scenarios/parameters.hpp"
#include "json_reader.hpp"

namespace dtsim::scenarios::detail {

// A parsed value; only the member for the parameter's type is meaningful.
struct Value {
  std::int64_t integer = 0;
  double number = 0.0;
  bool boolean = false;
  std::string text;  // kString, and the chosen name of a kChoice
  int choice = 0;    // kChoice: NamedValue::value
  std::vector<std::int64_t> integers;
  std::vector<int> choice_list;
  Duration duration;
  Bytes bytes;
  Bandwidth bandwidth;
  FlopRate flop_rate;
  Power power;
};

template <typename T>
struct Field {
  Parameter parameter;
  // Stores the value; nullptr when the section's own code reads the key
  // (nested objects, `base`).
  void (*apply)(T&, const Value&) = nullptr;
};

// Reads `json` as `p` says. On a problem, adds one diagnostic at `path` and
// returns nothing.
std::optional<Value> read_value(const Json& json, const std::string& path, const Parameter& p, Diagnostics& out);

// The default of a kDefault parameter, parsed from its table text. A default
// that does not parse is a bug in the table (InternalError).
Value default_value(const Parameter& p);

// "expected <this>, got ...": "a positive integer", "one of gelu, swiglu", ...
std::string expectation(const Parameter& p);

// "/training: expected an object, got 5 (number)" when `json` is not an object.
bool require_object(const Json& json, const std::string& path, Diagnostics& out);

template <typename T, std::size_t N>
std::vector<std::string_view> keys_of(const std::array<Field<T>, N>& fields) {
  std::vector<std::string_view> keys;
  keys.reserve(N);
  for (const Field<T>& f : fields) keys.push_back(f.parameter.key);
  return keys;
}

template <typename T, std::size_t N>
const Parameter& parameter_of(const std::array<Field<T>, N>& fields, std::string_view key) {
  for (const Field<T>& f : fields) {
    if (f.parameter.key == key) return f.parameter;
  }
  DTSIM_UNREACHABLE("no parameter '" + std::string(key) + "' in its table");
}

// Reads every field of `object` (at `path`) that has an apply function into
// `target`. With `from_base`, omitted keys keep target's values (it was filled
// from a base); otherwise every required key must be present (those without
// an apply function too) and kDefault keys take their defaults. kFromBase and
// kDerived keys left out stay untouched.
template <typename T, std::size_t N>
void read_fields(const Json& object, const std::string& path, const std::array<Field<T>, N>& fields, T& target,
                 Diagnostics& out, bool from_base = false) {
  const std::vector<std::string_view> keys = keys_of(fields);
  check_keys(object, path, keys, out);
  for (const Field<T>& f : fields) {
    const Parameter& p = f.parameter;
    const auto it = object.find(std::string(p.key));
    if (it != object.end()) {
      if (f.apply == nullptr) continue;
      if (auto v = read_value(*it, child_path(path, p.key), p, out)) f.apply(target, *v);
      continue;
    }
    if (from_base) continue;
    if (p.presence == Presence::kRequired) {
      out.add(path, "missing required key " + quote(p.key));
    } else if (p.presence == Presence::kDefault && f.apply != nullptr) {
      f.apply(target, default_value(p));
    }
  }
}

}  // namespace dtsim::scenarios::detail
