// Reading the fields of one JSON object written by another program (the
// calibration harness's profiles and training runs; private to scenarios/):
// each getter reports a missing or mistyped field at its JSON path and
// returns a neutral value, so one pass collects every problem.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dtsim/core/units.hpp"
#include "json_reader.hpp"

namespace dtsim::scenarios::detail {

class RecordReader {
 public:
  RecordReader(const Json& object, std::string path, Diagnostics& d) : o_(object), path_(std::move(path)), d_(d) {}

  bool has(std::string_view key) const { return o_.contains(std::string(key)); }
  // The value, or nullptr (reported as missing).
  const Json* get(std::string_view key);
  // A string; "" for null.
  std::string text(std::string_view key);
  std::int64_t integer(std::string_view key, std::int64_t lo = 0);
  // Absent or null: nullopt.
  std::optional<std::int64_t> optional_integer(std::string_view key);
  bool boolean(std::string_view key);
  double positive(std::string_view key);
  // A positive number of seconds.
  Duration seconds(std::string_view key) { return seconds_to_duration(positive(key)); }
  void problem(std::string_view key, std::string message) { d_.add(child_path(path_, key), std::move(message)); }
  const std::string& path() const { return path_; }

 private:
  const Json& o_;
  std::string path_;
  Diagnostics& d_;
};

}  // namespace dtsim::scenarios::detail
