// Parsing of quantities written with units, as scenario files carry them.
//
// Accepted forms: a number, optional whitespace, a unit. Units are case
// sensitive where case carries meaning (b = bit, B = byte).
//   Duration : ps ns us ms s  (also "µs")                       "2.5 us"
//   Bytes    : B KB MB GB TB (1e3 steps), KiB MiB GiB TiB (2^10) "80 GiB"
//   Bandwidth: B/s KB/s MB/s GB/s TB/s and bits b/s Kb/s Mb/s Gb/s Tb/s
//                                                               "400 Gb/s"
//   FlopRate : FLOP/s with optional k M G T P prefix            "989.4 TFLOP/s"
//   Power    : W kW                                             "700 W"
// Negative, non-finite, and fractional byte counts are rejected.
//
// Example:
//   auto r = parse_bandwidth("400 Gb/s");
//   if (!r) throw InputError(path, r.error());   // r.error(): what was wrong
//   Bandwidth nic = *r;                           // 50e9 bytes/s
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "dtsim/core/units.hpp"

namespace dtsim {

// The value or a sentence saying what was expected.
template <typename T>
class ParseResult {
 public:
  static ParseResult ok(T v) { return ParseResult(std::move(v), {}); }
  static ParseResult fail(std::string why) { return ParseResult(std::nullopt, std::move(why)); }
  explicit operator bool() const { return value_.has_value(); }
  const T& operator*() const { return *value_; }
  const std::string& error() const { return error_; }

 private:
  ParseResult(std::optional<T> v, std::string e) : value_(std::move(v)), error_(std::move(e)) {}
  std::optional<T> value_;
  std::string error_;
};

ParseResult<Duration> parse_duration(std::string_view text);
ParseResult<Bytes> parse_bytes(std::string_view text);
ParseResult<Bandwidth> parse_bandwidth(std::string_view text);
ParseResult<FlopRate> parse_flop_rate(std::string_view text);
ParseResult<Power> parse_power(std::string_view text);

// Human-readable renderings used in reports ("1.25 ms", "80.0 GiB", "450 GB/s").
std::string format_duration(Duration d);
std::string format_bytes(Bytes b);
std::string format_bandwidth(Bandwidth b);
std::string format_flop_rate(FlopRate r);

}  // namespace dtsim
