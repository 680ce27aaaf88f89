// Reading a sweep section, expanding its points and building each point's
// scenario by JSON-pointer substitution on the parsed document.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "dtsim/scenarios/parameters.hpp"
#include "dtsim/scenarios/sweep.hpp"
#include "json_reader.hpp"
#include "scenario_document.hpp"
#include "scenario_tables.hpp"

namespace dtsim::scenarios {
namespace {

using detail::child_path;
using detail::describe;
using detail::Diagnostics;
using detail::Json;
using detail::quote;

// RFC 6901 tokens of a pointer that starts with '/'.
std::vector<std::string> pointer_tokens(std::string_view pointer) {
  std::vector<std::string> tokens;
  std::size_t pos = 1;
  while (pos <= pointer.size()) {
    std::size_t end = pointer.find('/', pos);
    if (end == std::string_view::npos) end = pointer.size();
    std::string token;
    for (std::size_t i = pos; i < end; ++i) {
      if (pointer[i] == '~' && i + 1 < end && (pointer[i + 1] == '0' || pointer[i + 1] == '1')) {
        token.push_back(pointer[i + 1] == '0' ? '~' : '/');
        ++i;
      } else {
        token.push_back(pointer[i]);
      }
    }
    tokens.push_back(std::move(token));
    pos = end + 1;
  }
  return tokens;
}

bool is_index(const std::string& token) {
  if (token.empty() || token.size() > 9) return false;
  for (const char c : token) {
    if (c < '0' || c > '9') return false;
  }
  return token == "0" || token[0] != '0';
}

bool is_list(ValueType t) { return t == ValueType::kIntegerList || t == ValueType::kChoiceList; }
bool is_section(ValueType t) { return t == ValueType::kObject || t == ValueType::kNameOrObject; }

// Why the scenario format has no field at `pointer`; empty when it has.
std::string schema_path_problem(const std::string& pointer, const std::vector<Section>& sections) {
  if (pointer.empty() || pointer[0] != '/') return "expected a JSON pointer such as \"/plan/tp\", got " + quote(pointer);
  const std::vector<std::string> tokens = pointer_tokens(pointer);
  const Section* section = find_section(sections, "scenario");
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    const Parameter* p = section->find(token);
    if (p == nullptr) {
      const std::vector<std::string_view> keys = section->keys();
      std::string where = section->pointer.empty() ? std::string("the top level") : std::string(section->pointer);
      return "unknown field " + quote(token) + " in " + where + "; " + detail::unknown_name_hint(token, keys);
    }
    if (i == 0 && (token == "sweep" || token == "schema_version")) {
      return "a sweep cannot vary " + quote(token);
    }
    if (i + 1 == tokens.size()) return {};
    if (is_section(p->type)) {
      section = find_section(sections, p->section);
      continue;
    }
    if (is_list(p->type) && i + 2 == tokens.size()) {
      if (is_index(tokens[i + 1])) return {};
      return "expected an index into " + quote(token) + " (a list), got " + quote(tokens[i + 1]);
    }
    return quote(token) + " is a " + type_text(*p) + "; it has no field " + quote(tokens[i + 1]);
  }
  return {};
}

std::string number_json(double v) { return Json(v).dump(); }

// The values of a {"from", "to", "step" | "factor"} range.
std::vector<std::string> range_values(const Json& range, const std::string& path, Diagnostics& out) {
  if (!detail::require_object(range, path, out)) return {};
  static constexpr std::string_view kKeys[] = {"from", "to", "step", "factor"};
  const std::size_t before = out.size();
  detail::check_keys(range, path, kKeys, out);
  auto number = [&](std::string_view key, bool required) -> std::optional<Json> {
    const auto it = range.find(std::string(key));
    if (it == range.end()) {
      if (required) out.add(path, "missing required key " + quote(key));
      return std::nullopt;
    }
    if (!it->is_number() || !std::isfinite(it->get<double>())) {
      out.add(child_path(path, key), "expected a number, got " + describe(*it));
      return std::nullopt;
    }
    return *it;
  };
  const auto from = number("from", true);
  const auto to = number("to", true);
  const auto step = number("step", false);
  const auto factor = number("factor", false);
  if (step && factor) out.add(path, "give either 'step' or 'factor', not both");
  if (out.size() != before || !from || !to) return {};
  const double a = from->get<double>();
  const double b = to->get<double>();
  if (a > b) {
    out.add(child_path(path, "to"), "expected a value >= from (" + from->dump() + "), got " + to->dump());
    return {};
  }
  std::vector<std::string> values;
  auto too_many = [&] {
    out.add(path, "more than " + std::to_string(kMaxSweepPoints) + " values");
    return std::vector<std::string>{};
  };
  if (factor) {
    const double f = factor->get<double>();
    if (!(f > 1.0)) {
      out.add(child_path(path, "factor"), "expected a number > 1, got " + factor->dump());
      return {};
    }
    if (!(a > 0.0)) {
      out.add(child_path(path, "from"), "a geometric range needs from > 0, got " + from->dump());
      return {};
    }
    const bool integers = from->is_number_integer() && factor->is_number_integer();
    if (integers) {
      for (std::int64_t v = from->get<std::int64_t>(); static_cast<double>(v) <= b;
           v *= factor->get<std::int64_t>()) {
        if (values.size() >= static_cast<std::size_t>(kMaxSweepPoints)) return too_many();
        values.push_back(std::to_string(v));
      }
    } else {
      // Multiply exactly as written: value k is from x factor^k.
      for (int k = 0;; ++k) {
        const double v = a * std::pow(f, k);
        if (v > b * (1 + 1e-12)) break;
        if (values.size() >= static_cast<std::size_t>(kMaxSweepPoints)) return too_many();
        values.push_back(number_json(v));
      }
    }
    return values;
  }
  const double s = step ? step->get<double>() : 1.0;
  if (!(s > 0.0)) {
    out.add(child_path(path, "step"), "expected a number > 0, got " + step->dump());
    return {};
  }
  const double count = std::floor((b - a) / s * (1 + 1e-12)) + 1;
  if (count > static_cast<double>(kMaxSweepPoints)) return too_many();
  const bool integers = from->is_number_integer() && (!step || step->is_number_integer());
  for (std::int64_t k = 0; k < static_cast<std::int64_t>(count); ++k) {
    if (integers) {
      values.push_back(std::to_string(from->get<std::int64_t>() + k * (step ? step->get<std::int64_t>() : 1)));
    } else {
      values.push_back(number_json(a + static_cast<double>(k) * s));
    }
  }
  return values;
}

struct ParsedSweep {
  SweepSettings settings;
  std::vector<SweepAxis> axes;
};

ParsedSweep parse_sweep_section(const Json& sweep, Diagnostics& out) {
  ParsedSweep parsed;
  if (!detail::require_object(sweep, "/sweep", out)) return parsed;
  detail::read_fields(sweep, "/sweep", detail::kSweepFields, parsed.settings, out);
  const auto axes = sweep.find("axes");
  if (axes == sweep.end()) return parsed;
  if (!axes->is_array() || axes->empty()) {
    out.add("/sweep/axes", "expected a non-empty array of axes ({\"path\": ..., \"values\": [...]}), got " +
                               describe(*axes));
    return parsed;
  }
  const std::vector<Section> sections = scenario_sections();
  std::set<std::string> paths;
  static constexpr std::string_view kAxisKeys[] = {"path", "values", "range"};
  for (std::size_t i = 0; i < axes->size(); ++i) {
    const Json& a = (*axes)[i];
    const std::string path = child_path("/sweep/axes", i);
    if (!detail::require_object(a, path, out)) continue;
    detail::check_keys(a, path, kAxisKeys, out);
    SweepAxis axis;
    const auto p = a.find("path");
    if (p == a.end()) {
      out.add(path, "missing required key 'path' (a JSON pointer such as \"/plan/tp\")");
    } else if (!p->is_string()) {
      out.add(child_path(path, "path"), "expected a JSON pointer (string), got " + describe(*p));
    } else {
      axis.path = p->get<std::string>();
      if (const std::string problem = schema_path_problem(axis.path, sections); !problem.empty()) {
        out.add(child_path(path, "path"), problem);
      } else if (!paths.insert(axis.path).second) {
        out.add(child_path(path, "path"), quote(axis.path) + " is swept by an earlier axis too");
      } else if (parsed.settings.fill_dp && axis.path == "/plan/dp") {
        out.add(child_path(path, "path"), "'/plan/dp' is filled (fill_dp is true); sweep it or fill it, not both");
      }
    }
    const auto values = a.find("values");
    const auto range = a.find("range");
    if ((values == a.end()) == (range == a.end())) {
      out.add(path, "give either 'values' (a list) or 'range' ({\"from\", \"to\", \"step\" or \"factor\"})");
    } else if (values != a.end()) {
      if (!values->is_array() || values->empty()) {
        out.add(child_path(path, "values"), "expected a non-empty array, got " + describe(*values));
      } else {
        for (const Json& v : *values) axis.values.push_back(v.dump());
      }
    } else {
      axis.values = range_values(*range, child_path(path, "range"), out);
    }
    parsed.axes.push_back(std::move(axis));
  }
  if (!out.empty()) return parsed;
  if (parsed.settings.zip) {
    for (std::size_t i = 1; i < parsed.axes.size(); ++i) {
      if (parsed.axes[i].values.size() != parsed.axes[0].values.size()) {
        out.add(child_path("/sweep/axes", i), "zip needs axes of one length: this one has " +
                                                  std::to_string(parsed.axes[i].values.size()) +
                                                  " values, axis 0 has " +
                                                  std::to_string(parsed.axes[0].values.size()));
      }
    }
  } else {
    double total = 1;
    for (const SweepAxis& a : parsed.axes) total *= static_cast<double>(a.values.size());
    if (total > static_cast<double>(kMaxSweepPoints)) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.0f", total);
      out.add("/sweep/axes", std::string("the product has ") + buf + " points; at most " +
                                 std::to_string(kMaxSweepPoints) + " are supported");
    }
  }
  return parsed;
}

// FNV-1a, 64 bits: a stable identity for shards to compare (not security).
std::string fingerprint_of(const SweepDefinition& d) {
  std::uint64_t h = 14695981039346656037ULL;
  auto feed = [&](std::string_view text) {
    for (const char c : text) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ULL;
    }
    h ^= 0xff;  // separator, so that "ab"+"c" differs from "a"+"bc"
    h *= 1099511628211ULL;
  };
  feed(d.base_json);
  feed(d.settings.zip ? "zip" : "product");
  feed(d.settings.fill_dp ? "fill_dp" : "");
  for (const SweepAxis& a : d.axes) {
    feed(a.path);
    for (const std::string& v : a.values) feed(v);
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Sets `value` at `pointer` in `doc`, turning built-in names on the way into
// {"base": name} and creating missing sections.
void substitute(Json& doc, const std::string& pointer, Json value, const std::vector<Section>& sections) {
  const std::vector<std::string> tokens = pointer_tokens(pointer);
  const Section* section = find_section(sections, "scenario");
  Json* cur = &doc;
  std::string at;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    const bool last = i + 1 == tokens.size();
    if (cur->is_array()) {
      const std::size_t index = std::stoul(token);
      if (index >= cur->size()) {
        throw InputError(pointer, "no element " + token + " to set: the scenario's " + at + " has " +
                                      std::to_string(cur->size()) + " entries");
      }
      (*cur)[index] = std::move(value);
      return;
    }
    if (!cur->is_object()) {
      throw InputError(at, "expected an object to set " + pointer + " in, got " + describe(*cur));
    }
    at = child_path(at, token);
    if (last) {
      (*cur)[token] = std::move(value);
      return;
    }
    const Parameter* p = section != nullptr ? section->find(token) : nullptr;
    Json& child = (*cur)[token];
    if (child.is_null() && p->type == ValueType::kNameOrObject && p->presence == Presence::kFromBase) {
      // Its preset comes from the enclosing base; only the scenario can name one to override.
      (*cur).erase(token);
      throw InputError(at, "not in the scenario: give it (e.g. a preset name) to vary " + pointer);
    }
    if (child.is_null()) {
      child = is_list(p->type) ? Json::array() : Json::object();
    } else if (child.is_string() && p->type == ValueType::kNameOrObject) {
      child = Json{{"base", child.get<std::string>()}};
    }
    if (is_section(p->type)) section = find_section(sections, p->section);
    cur = &child;
  }
}

}  // namespace

namespace detail {
void check_sweep_section(const Json& sweep, Diagnostics& out) { parse_sweep_section(sweep, out); }
}  // namespace detail

std::int64_t SweepDefinition::num_points() const {
  if (axes.empty()) return 1;
  if (settings.zip) return static_cast<std::int64_t>(axes.front().values.size());
  std::int64_t n = 1;
  for (const SweepAxis& a : axes) n *= static_cast<std::int64_t>(a.values.size());
  return n;
}

SweepDefinition read_sweep(std::string_view json_text, std::string_view origin) {
  Json doc = detail::parse_json_document(json_text);
  if (!doc.is_object()) throw InputError("", "expected a JSON object at the top level, got " + describe(doc));
  SweepDefinition d;
  d.origin = std::string(origin);
  if (const auto sweep = doc.find("sweep"); sweep != doc.end()) {
    Diagnostics problems;
    ParsedSweep parsed = parse_sweep_section(*sweep, problems);
    problems.throw_if_any();
    d.settings = parsed.settings;
    d.axes = std::move(parsed.axes);
    doc.erase("sweep");
  }
  if (const auto name = doc.find("name"); name != doc.end() && name->is_string()) {
    d.name = name->get<std::string>();
  } else {
    d.name = origin.empty() ? "unnamed" : std::filesystem::path(origin).stem().string();
  }
  d.base_json = doc.dump();
  d.fingerprint = fingerprint_of(d);
  return d;
}

SweepDefinition read_sweep_file(const std::filesystem::path& path) {
  return read_sweep(read_text_file(path), path.string());
}

std::vector<std::string> point_values(const SweepDefinition& sweep, std::int64_t index) {
  DTSIM_CHECK(index >= 0 && index < sweep.num_points(), "sweep point index out of range");
  std::vector<std::string> values(sweep.axes.size());
  if (sweep.settings.zip) {
    for (std::size_t a = 0; a < sweep.axes.size(); ++a) values[a] = sweep.axes[a].values[static_cast<std::size_t>(index)];
    return values;
  }
  // Mixed radix, the last axis fastest.
  std::int64_t rest = index;
  for (std::size_t a = sweep.axes.size(); a-- > 0;) {
    const auto n = static_cast<std::int64_t>(sweep.axes[a].values.size());
    values[a] = sweep.axes[a].values[static_cast<std::size_t>(rest % n)];
    rest /= n;
  }
  return values;
}

Scenario load_sweep_point(const SweepDefinition& sweep, std::int64_t index, const Catalogs& catalogs) {
  const std::vector<std::string> values = point_values(sweep, index);
  Json doc = detail::parse_json_document(sweep.base_json);
  const std::vector<Section> sections = scenario_sections();
  for (std::size_t a = 0; a < sweep.axes.size(); ++a) {
    substitute(doc, sweep.axes[a].path, Json::parse(values[a]), sections);
  }
  Scenario s = detail::load_scenario_document(doc, catalogs, sweep.origin, {.fill_dp = sweep.settings.fill_dp});
  s.file = sweep.origin;
  if (std::vector<Diagnostic> problems = check_network(s); !problems.empty()) throw InputError(std::move(problems));
  return s;
}

std::string metric_unavailable(const SweepDefinition& sweep, Metric metric) {
  if (metric != Metric::kTimeToTrain && metric != Metric::kGpuHours && metric != Metric::kEnergy &&
      metric != Metric::kCost) {
    return {};
  }
  for (const SweepAxis& a : sweep.axes) {
    if (a.path == "/cost" || a.path.starts_with("/cost/")) return {};  // the points may add it
  }
  const Json doc = Json::parse(sweep.base_json);
  const auto cost = doc.find("cost");
  std::string why = "ranking by ";
  why.append(metric_name(metric));
  if (cost == doc.end()) return why.append(" needs a \"cost\" section in the scenario (docs/sweeps.md)");
  if (metric == Metric::kCost && cost->is_object() && !cost->contains("gpu_hour_price")) {
    return why.append(" needs /cost/gpu_hour_price");
  }
  return {};
}

}  // namespace dtsim::scenarios
