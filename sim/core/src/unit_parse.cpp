#include "dtsim/core/unit_parse.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

namespace dtsim {
namespace {

struct NumberAndUnit {
  double number = 0.0;
  std::string_view unit;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits "2.5 us" into 2.5 and "us". Fails on a missing number, a non-finite
// number, or trailing garbage before the unit.
std::optional<NumberAndUnit> split(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::nullopt;
  double value = 0.0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(first, last, value, std::chars_format::general);
  if (ec != std::errc() || !std::isfinite(value)) return std::nullopt;
  std::string_view unit = trim(std::string_view(ptr, static_cast<std::size_t>(last - ptr)));
  return NumberAndUnit{value, unit};
}

template <std::size_t N>
std::optional<double> lookup(std::string_view unit, const std::array<std::pair<std::string_view, double>, N>& table) {
  for (const auto& [name, factor] : table) {
    if (name == unit) return factor;
  }
  return std::nullopt;
}

std::string quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('\'');
  out.append(s);
  out.push_back('\'');
  return out;
}

template <typename T, std::size_t N, typename Make>
ParseResult<T> parse_with(std::string_view text, const std::array<std::pair<std::string_view, double>, N>& units,
                          std::string_view what, std::string_view example, Make make) {
  const auto nu = split(text);
  if (!nu) {
    return ParseResult<T>::fail("expected " + std::string(what) + " such as '" + std::string(example) + "', got " +
                                quoted(text));
  }
  if (nu->unit.empty()) {
    return ParseResult<T>::fail(std::string(what) + " needs a unit, such as '" + std::string(example) + "'; got " +
                                quoted(text));
  }
  const auto factor = lookup(nu->unit, units);
  if (!factor) {
    std::string known;
    for (const auto& u : units) {
      if (!known.empty()) known += ", ";
      known += u.first;
    }
    return ParseResult<T>::fail("unknown unit " + quoted(nu->unit) + " in " + quoted(text) + "; expected one of " +
                                known);
  }
  if (nu->number < 0.0) {
    return ParseResult<T>::fail(std::string(what) + " must not be negative; got " + quoted(text));
  }
  return make(nu->number * *factor, text);
}

constexpr std::array<std::pair<std::string_view, double>, 7> kTimeUnits{{
    {"ps", 1e-12}, {"ns", 1e-9}, {"us", 1e-6}, {"\xC2\xB5s", 1e-6}, {"ms", 1e-3}, {"s", 1.0}, {"min", 60.0}}};

constexpr std::array<std::pair<std::string_view, double>, 10> kByteUnits{{{"B", 1.0},
                                                                         {"KB", 1e3},
                                                                         {"MB", 1e6},
                                                                         {"GB", 1e9},
                                                                         {"TB", 1e12},
                                                                         {"KiB", 1024.0},
                                                                         {"MiB", 1048576.0},
                                                                         {"GiB", 1073741824.0},
                                                                         {"TiB", 1099511627776.0},
                                                                         {"bytes", 1.0}}};

constexpr std::array<std::pair<std::string_view, double>, 10> kBandwidthUnits{{{"B/s", 1.0},
                                                                              {"KB/s", 1e3},
                                                                              {"MB/s", 1e6},
                                                                              {"GB/s", 1e9},
                                                                              {"TB/s", 1e12},
                                                                              {"b/s", 1.0 / 8},
                                                                              {"Kb/s", 1e3 / 8},
                                                                              {"Mb/s", 1e6 / 8},
                                                                              {"Gb/s", 1e9 / 8},
                                                                              {"Tb/s", 1e12 / 8}}};

constexpr std::array<std::pair<std::string_view, double>, 6> kFlopRateUnits{{{"FLOP/s", 1.0},
                                                                            {"kFLOP/s", 1e3},
                                                                            {"MFLOP/s", 1e6},
                                                                            {"GFLOP/s", 1e9},
                                                                            {"TFLOP/s", 1e12},
                                                                            {"PFLOP/s", 1e15}}};

constexpr std::array<std::pair<std::string_view, double>, 2> kPowerUnits{{{"W", 1.0}, {"kW", 1e3}}};

std::string trimmed_number(double v, int precision) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", precision, v);
  return buf;
}

}  // namespace

ParseResult<Duration> parse_duration(std::string_view text) {
  return parse_with<Duration>(text, kTimeUnits, "a duration", "2.5 us", [](double seconds, std::string_view t) {
    if (seconds * 1e12 >= 9.2e18) return ParseResult<Duration>::fail("duration " + quoted(t) + " is too large");
    return ParseResult<Duration>::ok(seconds_to_duration(seconds));
  });
}

ParseResult<Bytes> parse_bytes(std::string_view text) {
  return parse_with<Bytes>(text, kByteUnits, "a size", "80 GiB", [](double bytes, std::string_view t) {
    if (bytes >= 9.2e18) return ParseResult<Bytes>::fail("size " + quoted(t) + " is too large");
    const double rounded = std::round(bytes);
    if (std::fabs(rounded - bytes) > 1e-6 * std::max(1.0, bytes)) {
      return ParseResult<Bytes>::fail("size " + quoted(t) + " is not a whole number of bytes");
    }
    return ParseResult<Bytes>::ok(Bytes(static_cast<std::int64_t>(rounded)));
  });
}

ParseResult<Bandwidth> parse_bandwidth(std::string_view text) {
  return parse_with<Bandwidth>(text, kBandwidthUnits, "a bandwidth", "400 Gb/s", [](double bps, std::string_view) {
    return ParseResult<Bandwidth>::ok(Bandwidth::bytes_per_second(bps));
  });
}

ParseResult<FlopRate> parse_flop_rate(std::string_view text) {
  return parse_with<FlopRate>(text, kFlopRateUnits, "a FLOP rate", "989.4 TFLOP/s", [](double f, std::string_view) {
    return ParseResult<FlopRate>::ok(FlopRate::flops_per_second(f));
  });
}

ParseResult<Power> parse_power(std::string_view text) {
  return parse_with<Power>(text, kPowerUnits, "a power", "700 W",
                           [](double w, std::string_view) { return ParseResult<Power>::ok(Power::watts(w)); });
}

std::string format_duration(Duration d) {
  const double s = d.seconds();
  if (s >= 1.0) return trimmed_number(s, 3) + " s";
  if (s >= 1e-3) return trimmed_number(s * 1e3, 3) + " ms";
  if (s >= 1e-6) return trimmed_number(s * 1e6, 3) + " us";
  return trimmed_number(s * 1e9, 3) + " ns";
}

std::string format_bytes(Bytes b) {
  const double v = b.as_double();
  if (v >= 1073741824.0) return trimmed_number(v / 1073741824.0, 2) + " GiB";
  if (v >= 1048576.0) return trimmed_number(v / 1048576.0, 2) + " MiB";
  if (v >= 1024.0) return trimmed_number(v / 1024.0, 2) + " KiB";
  return std::to_string(b.count()) + " B";
}

std::string format_bandwidth(Bandwidth b) {
  const double v = b.bytes_per_second();
  if (v >= 1e12) return trimmed_number(v / 1e12, 2) + " TB/s";
  return trimmed_number(v / 1e9, 1) + " GB/s";
}

std::string format_flop_rate(FlopRate r) { return trimmed_number(r.flops_per_second() / 1e12, 1) + " TFLOP/s"; }

}  // namespace dtsim
