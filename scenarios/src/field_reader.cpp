#include "field_reader.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

#include "dtsim/core/unit_parse.hpp"

namespace dtsim::scenarios::detail {
namespace {

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

bool has_max(const Parameter& p) { return p.max < kUnbounded; }

// "a positive integer" / "a non-negative integer" / "an integer >= 2" /
// "the integer 1": what the lower bound asks for; the upper bound gets its own
// message ("expected at most N") so that the common case reads plainly.
std::string integer_phrase(const Parameter& p, bool plural) {
  if (p.min == p.max) return (plural ? "integers equal to " : "the integer ") + number_text(p.min);
  if (p.min == 1.0) return plural ? "positive integers" : "a positive integer";
  if (p.min == 0.0) return plural ? "non-negative integers" : "a non-negative integer";
  return (plural ? "integers >= " : "an integer >= ") + number_text(p.min);
}

std::string number_phrase(const Parameter& p) {
  std::string lower;
  if (p.min == 0.0 && p.min_exclusive) {
    lower = "a positive number";
  } else if (p.min == 0.0) {
    lower = "a non-negative number";
  } else {
    lower = std::string("a number ") + (p.min_exclusive ? "> " : ">= ") + number_text(p.min);
  }
  if (has_max(p)) lower += " and at most " + number_text(p.max);
  return lower;
}

std::string choice_names(const Parameter& p) {
  std::string out;
  for (const NamedValue& c : p.choices) {
    if (!out.empty()) out += ", ";
    out += c.name;
  }
  return out;
}

struct QuantityInfo {
  const char* what;     // "duration"
  const char* example;  // "2.5 us"
};

QuantityInfo quantity_info(ValueType t) {
  switch (t) {
    case ValueType::kDuration: return {"duration", "2.5 us"};
    case ValueType::kBytes: return {"size", "80 GiB"};
    case ValueType::kBandwidth: return {"bandwidth", "400 Gb/s"};
    case ValueType::kFlopRate: return {"FLOP rate", "989.4 TFLOP/s"};
    case ValueType::kPower: return {"power", "700 W"};
    default: break;
  }
  return {"quantity", ""};
}

bool is_quantity(ValueType t) {
  return t == ValueType::kDuration || t == ValueType::kBytes || t == ValueType::kBandwidth ||
         t == ValueType::kFlopRate || t == ValueType::kPower;
}

std::vector<std::string_view> names_of(const Parameter& p) {
  std::vector<std::string_view> names;
  for (const NamedValue& c : p.choices) names.push_back(c.name);
  return names;
}

// Reads an integer within the parameter's bounds.
std::optional<std::int64_t> read_integer(const Json& json, const std::string& path, const Parameter& p,
                                         Diagnostics& out, bool element) {
  const std::string phrase = integer_phrase(p, false);
  if (!json.is_number_integer()) {
    out.add(path, "expected " + phrase + ", got " + describe(json));
    return std::nullopt;
  }
  // Unsigned values beyond int64 are above every bound we declare.
  const bool huge = json.is_number_unsigned() && json.get<std::uint64_t>() >
                                                     static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const std::int64_t v = huge ? std::numeric_limits<std::int64_t>::max() : json.get<std::int64_t>();
  if (static_cast<double>(v) < p.min) {
    out.add(path, "expected " + phrase + ", got " + describe(json));
    return std::nullopt;
  }
  if (huge || static_cast<double>(v) > p.max) {
    out.add(path, std::string(element ? "each element must be" : "expected") + " at most " + number_text(p.max) +
                      ", got " + describe(json));
    return std::nullopt;
  }
  return v;
}

std::optional<int> read_choice(const Json& json, const std::string& path, const Parameter& p, Diagnostics& out) {
  if (!json.is_string()) {
    out.add(path, "expected a string (one of " + choice_names(p) + "), got " + describe(json));
    return std::nullopt;
  }
  const std::string& s = json.get_ref<const std::string&>();
  for (const NamedValue& c : p.choices) {
    if (c.name == s) return c.value;
  }
  const std::vector<std::string_view> names = names_of(p);
  out.add(path, "unknown value " + quote(s) + "; " + unknown_name_hint(s, names));
  return std::nullopt;
}

// Parses a quantity string with the core parser for its type, then applies
// the "positive" rule core does not know about.
bool read_quantity(const Json& json, const std::string& path, const Parameter& p, Value& v, Diagnostics& out) {
  const QuantityInfo info = quantity_info(p.type);
  if (!json.is_string()) {
    out.add(path, std::string("expected a ") + info.what + " string such as \"" + info.example + "\", got " +
                      describe(json));
    return false;
  }
  const std::string& s = json.get_ref<const std::string&>();
  double magnitude = 0.0;
  std::string error;
  switch (p.type) {
    case ValueType::kDuration: {
      const auto r = parse_duration(s);
      if (!r) {
        error = r.error();
        break;
      }
      v.duration = *r;
      magnitude = static_cast<double>(v.duration.ps());
      break;
    }
    case ValueType::kBytes: {
      const auto r = parse_bytes(s);
      if (!r) {
        error = r.error();
        break;
      }
      v.bytes = *r;
      magnitude = v.bytes.as_double();
      break;
    }
    case ValueType::kBandwidth: {
      const auto r = parse_bandwidth(s);
      if (!r) {
        error = r.error();
        break;
      }
      v.bandwidth = *r;
      magnitude = v.bandwidth.bytes_per_second();
      break;
    }
    case ValueType::kFlopRate: {
      const auto r = parse_flop_rate(s);
      if (!r) {
        error = r.error();
        break;
      }
      v.flop_rate = *r;
      magnitude = v.flop_rate.flops_per_second();
      break;
    }
    case ValueType::kPower: {
      const auto r = parse_power(s);
      if (!r) {
        error = r.error();
        break;
      }
      v.power = *r;
      magnitude = v.power.watts();
      break;
    }
    default: DTSIM_UNREACHABLE("not a quantity type");
  }
  if (!error.empty()) {
    out.add(path, error);
    return false;
  }
  if (p.min_exclusive && !(magnitude > 0.0)) {
    out.add(path, std::string("expected a positive ") + info.what + ", got " + describe(json));
    return false;
  }
  return true;
}

}  // namespace

std::string expectation(const Parameter& p) {
  switch (p.type) {
    case ValueType::kInteger: return integer_phrase(p, false);
    case ValueType::kNumber: return number_phrase(p);
    case ValueType::kBoolean: return "true or false";
    case ValueType::kString: return "a string";
    case ValueType::kChoice: return "one of " + choice_names(p);
    case ValueType::kIntegerList: return "an array of " + integer_phrase(p, true);
    case ValueType::kChoiceList: return "an array of strings, each one of " + choice_names(p);
    case ValueType::kObject: return "an object";
    case ValueType::kNameOrObject: return "a name or an object";
    case ValueType::kObjectList: return "an array of objects";
    default: break;
  }
  const QuantityInfo info = quantity_info(p.type);
  return std::string(p.min_exclusive ? "a positive " : "a ") + info.what + " such as \"" + info.example + "\"";
}

bool require_object(const Json& json, const std::string& path, Diagnostics& out) {
  if (json.is_object()) return true;
  out.add(path, "expected an object, got " + describe(json));
  return false;
}

std::optional<Value> read_value(const Json& json, const std::string& path, const Parameter& p, Diagnostics& out) {
  Value v;
  if (is_quantity(p.type)) {
    if (!read_quantity(json, path, p, v, out)) return std::nullopt;
    return v;
  }
  switch (p.type) {
    case ValueType::kInteger: {
      const auto i = read_integer(json, path, p, out, false);
      if (!i) return std::nullopt;
      v.integer = *i;
      return v;
    }
    case ValueType::kNumber: {
      const bool below = json.is_number() && (p.min_exclusive ? !(json.get<double>() > p.min)
                                                              : !(json.get<double>() >= p.min));
      if (!json.is_number() || below || json.get<double>() > p.max) {
        out.add(path, "expected " + number_phrase(p) + ", got " + describe(json));
        return std::nullopt;
      }
      v.number = json.get<double>();
      return v;
    }
    case ValueType::kBoolean:
      if (!json.is_boolean()) {
        out.add(path, "expected true or false, got " + describe(json));
        return std::nullopt;
      }
      v.boolean = json.get<bool>();
      return v;
    case ValueType::kString:
      if (!json.is_string()) {
        out.add(path, "expected a string, got " + describe(json));
        return std::nullopt;
      }
      v.text = json.get<std::string>();
      return v;
    case ValueType::kChoice: {
      const auto c = read_choice(json, path, p, out);
      if (!c) return std::nullopt;
      v.choice = *c;
      v.text = json.get<std::string>();
      return v;
    }
    case ValueType::kIntegerList: {
      if (!json.is_array()) {
        out.add(path, "expected " + expectation(p) + ", got " + describe(json));
        return std::nullopt;
      }
      bool ok = true;
      for (std::size_t i = 0; i < json.size(); ++i) {
        const auto e = read_integer(json[i], child_path(path, i), p, out, true);
        if (e) v.integers.push_back(*e);
        ok = ok && e.has_value();
      }
      if (!ok) return std::nullopt;
      return v;
    }
    case ValueType::kChoiceList: {
      if (!json.is_array()) {
        out.add(path, "expected " + expectation(p) + ", got " + describe(json));
        return std::nullopt;
      }
      bool ok = true;
      for (std::size_t i = 0; i < json.size(); ++i) {
        const auto c = read_choice(json[i], child_path(path, i), p, out);
        if (c) v.choice_list.push_back(*c);
        ok = ok && c.has_value();
      }
      if (!ok) return std::nullopt;
      return v;
    }
    case ValueType::kObject:
    case ValueType::kNameOrObject: break;
    default: break;
  }
  DTSIM_UNREACHABLE("parameter '" + std::string(p.key) + "' is read by its section, not by read_value");
}

Value default_value(const Parameter& p) {
  DTSIM_CHECK(p.presence == Presence::kDefault, "parameter '" + std::string(p.key) + "' has no default");
  Diagnostics problems;
  const Json json = Json::parse(p.default_value.begin(), p.default_value.end(), nullptr, false);
  std::optional<Value> v;
  if (!json.is_discarded()) v = read_value(json, "(default)", p, problems);
  DTSIM_CHECK(v.has_value(), "the default of '" + std::string(p.key) + "' does not parse: " +
                                 std::string(p.default_value));
  return *v;
}

}  // namespace dtsim::scenarios::detail
