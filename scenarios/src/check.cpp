// Baselines: reading, writing, and comparing runs against them.
#include "dtsim/scenarios/check.hpp"

#include <cmath>
#include <map>

#include "json_reader.hpp"
#include "json_writer.hpp"
#include "sweep_format.hpp"

namespace dtsim::scenarios {
namespace {

using detail::child_path;
using detail::describe;
using detail::Json;

constexpr int kBaselineVersion = 1;

const Json& field(const Json& o, std::string_view key, const std::string& path) {
  const auto it = o.find(std::string(key));
  if (it == o.end()) throw InputError(path, "missing required key " + detail::quote(key));
  return *it;
}

double number(const Json& o, std::string_view key, const std::string& path) {
  const Json& v = field(o, key, path);
  if (!v.is_number()) throw InputError(child_path(path, key), "expected a number, got " + describe(v));
  return v.get<double>();
}

std::string text(const Json& o, std::string_view key, const std::string& path) {
  const Json& v = field(o, key, path);
  if (!v.is_string()) throw InputError(child_path(path, key), "expected a string, got " + describe(v));
  return v.get<std::string>();
}

bool boolean(const Json& o, std::string_view key, const std::string& path) {
  const Json& v = field(o, key, path);
  if (!v.is_boolean()) throw InputError(child_path(path, key), "expected true or false, got " + describe(v));
  return v.get<bool>();
}

double tolerance(const Json& o, std::string_view key, double fallback, const std::string& path) {
  if (!o.contains(std::string(key))) return fallback;
  const double v = number(o, key, path);
  if (!(v >= 0.0 && v <= 10.0)) {
    throw InputError(child_path(path, key), "expected a relative tolerance from 0 to 10 (0.01 = 1 %), got " + Json(v).dump());
  }
  return v;
}

std::string key_of(const std::string& file, const std::string& scenario, const std::string& point) {
  std::string k = file;
  k.append("\n").append(scenario).append("\n").append(point);
  return k;
}

// Integral values (bytes) without a fraction; others exactly.
std::string value_text(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return detail::fixed(v, 0);
  return Json(v).dump();
}

std::string percent(double fraction) {
  std::string s = detail::fixed(100.0 * fraction, 2);
  if (fraction >= 0) s.insert(0, "+");
  return s.append(" %");
}

std::string xml_escape(std::string_view in) {
  std::string out;
  for (const char c : in) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 forbids most control characters even escaped.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') {
          out += '?';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string_view status_word(CheckStatus s) {
  switch (s) {
    case CheckStatus::kOk: return "ok";
    case CheckStatus::kImproved: return "improved";
    case CheckStatus::kRegressed: return "REGRESSED";
    case CheckStatus::kNew: return "NEW";
    case CheckStatus::kMissing: return "MISSING";
  }
  return "?";
}

std::string display_name(const CheckOutcome& o) {
  std::string n = o.scenario;
  if (!o.point.empty()) n.append(" [").append(o.point).append("]");
  return n;
}

// The failure text of one outcome: its message, or its regressed metrics.
std::string failure_text(const CheckOutcome& o) {
  if (!o.message.empty()) return o.message;
  std::string out;
  for (const MetricDiff& d : o.diffs) {
    if (!d.regressed) continue;
    if (!out.empty()) out += "; ";
    out += d.metric + " " + value_text(d.baseline) + " -> " + value_text(d.current) + " (" + percent(d.relative) +
           ", tolerance " + detail::fixed(100.0 * d.tolerance, 2) + " %)";
  }
  return out;
}

}  // namespace

bool CheckReport::passed() const {
  for (const CheckOutcome& o : outcomes) {
    if (o.status != CheckStatus::kOk && o.status != CheckStatus::kImproved) return false;
  }
  return true;
}

Baseline parse_baseline(std::string_view json_text) {
  const Json doc = detail::parse_json_document(json_text);
  if (!doc.is_object()) throw InputError("", "expected a baseline object, got " + describe(doc));
  const double version = number(doc, "baseline_version", "");
  if (version != kBaselineVersion) {
    throw InputError("/baseline_version", "expected " + std::to_string(kBaselineVersion) + ", got " + Json(version).dump());
  }
  Baseline b;
  if (doc.contains("tolerances")) {
    const Json& t = doc["tolerances"];
    if (!t.is_object()) throw InputError("/tolerances", "expected an object, got " + describe(t));
    static constexpr std::string_view kKeys[] = {"step_time", "throughput", "mfu", "memory"};
    detail::Diagnostics unknown;
    detail::check_keys(t, "/tolerances", kKeys, unknown);
    unknown.throw_if_any();
    b.tolerances.step_time = tolerance(t, "step_time", b.tolerances.step_time, "/tolerances");
    b.tolerances.throughput = tolerance(t, "throughput", b.tolerances.throughput, "/tolerances");
    b.tolerances.mfu = tolerance(t, "mfu", b.tolerances.mfu, "/tolerances");
    b.tolerances.memory = tolerance(t, "memory", b.tolerances.memory, "/tolerances");
  }
  const Json& entries = field(doc, "entries", "");
  if (!entries.is_array()) throw InputError("/entries", "expected an array, got " + describe(entries));
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string path = child_path("/entries", i);
    const Json& e = entries[i];
    if (!e.is_object()) throw InputError(path, "expected an object, got " + describe(e));
    BaselineEntry be;
    be.file = text(e, "file", path);
    be.scenario = text(e, "scenario", path);
    be.point = text(e, "point", path);
    if (e.contains("skipped")) {
      be.skipped = true;
      be.reason = text(e, "skipped", path);
    } else {
      be.step_time_s = number(e, "step_time_s", path);
      be.tokens_per_second = number(e, "tokens_per_second", path);
      be.mfu = number(e, "mfu", path);
      const Json& mem = field(e, "peak_memory_bytes", path);
      if (!mem.is_number_integer()) throw InputError(child_path(path, "peak_memory_bytes"), "expected an integer");
      be.peak_memory_bytes = mem.get<std::int64_t>();
      be.fits = boolean(e, "fits", path);
    }
    b.entries.push_back(std::move(be));
  }
  return b;
}

std::string render_baseline(const Baseline& b) {
  detail::JsonWriter w(2);
  w.begin_object();
  w.key("baseline_version").integer(kBaselineVersion);
  w.key("tolerances").begin_object();
  w.key("step_time").raw_number(detail::exact_number(b.tolerances.step_time));
  w.key("throughput").raw_number(detail::exact_number(b.tolerances.throughput));
  w.key("mfu").raw_number(detail::exact_number(b.tolerances.mfu));
  w.key("memory").raw_number(detail::exact_number(b.tolerances.memory));
  w.end_object();
  w.key("entries").begin_array();
  for (const BaselineEntry& e : b.entries) {
    w.begin_object();
    w.key("file").string(e.file);
    w.key("scenario").string(e.scenario);
    w.key("point").string(e.point);
    if (e.skipped) {
      w.key("skipped").string(e.reason);
    } else {
      w.key("step_time_s").raw_number(detail::exact_number(e.step_time_s));
      w.key("tokens_per_second").raw_number(detail::exact_number(e.tokens_per_second));
      w.key("mfu").raw_number(detail::exact_number(e.mfu));
      w.key("peak_memory_bytes").integer(e.peak_memory_bytes);
      w.key("fits").boolean(e.fits);
    }
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.take() + "\n";
}

std::vector<BaselineEntry> baseline_entries(const std::string& file, const SweepResult& result) {
  const std::vector<std::string> headers = detail::axis_headers(result.axis_paths);
  std::vector<BaselineEntry> out;
  for (const PointResult& p : result.points) {
    BaselineEntry e;
    e.file = file;
    e.scenario = result.name;
    e.point = detail::point_label(headers, p.values);
    e.skipped = p.skipped;
    e.reason = p.reason;
    if (!p.skipped) {
      e.step_time_s = p.metrics.step_time.seconds();
      e.tokens_per_second = p.metrics.tokens_per_second;
      e.mfu = p.metrics.mfu;
      e.peak_memory_bytes = p.metrics.peak_memory.count();
      e.fits = p.metrics.fits;
    }
    out.push_back(std::move(e));
  }
  return out;
}

Baseline updated_baseline(const Baseline& old, const std::vector<BaselineEntry>& current,
                          const std::vector<std::string>& files) {
  Baseline b;
  b.tolerances = old.tolerances;
  for (const BaselineEntry& e : old.entries) {
    if (std::find(files.begin(), files.end(), e.file) == files.end()) b.entries.push_back(e);
  }
  b.entries.insert(b.entries.end(), current.begin(), current.end());
  return b;
}

CheckReport compare_to_baseline(const Baseline& baseline, const std::vector<BaselineEntry>& current,
                                const std::vector<std::string>& files) {
  std::map<std::string, const BaselineEntry*> stored;
  for (const BaselineEntry& e : baseline.entries) {
    if (std::find(files.begin(), files.end(), e.file) != files.end()) stored[key_of(e.file, e.scenario, e.point)] = &e;
  }
  const Tolerances& tol = baseline.tolerances;
  CheckReport report;
  for (const BaselineEntry& c : current) {
    CheckOutcome o{c.file, c.scenario, c.point, CheckStatus::kOk, {}, {}};
    const auto it = stored.find(key_of(c.file, c.scenario, c.point));
    if (it == stored.end()) {
      o.status = CheckStatus::kNew;
      o.message = "not in the baseline (run with --update-baseline to add it)";
      report.outcomes.push_back(std::move(o));
      continue;
    }
    const BaselineEntry& b = *it->second;
    stored.erase(it);
    if (c.skipped || b.skipped) {
      if (c.skipped && !b.skipped) {
        o.status = CheckStatus::kRegressed;
        o.message = "no longer simulates: " + c.reason;
      } else if (!c.skipped && b.skipped) {
        o.status = CheckStatus::kNew;
        o.message = "simulates now but the baseline has it skipped (" + b.reason + "); update the baseline";
      }
      report.outcomes.push_back(std::move(o));
      continue;
    }
    auto compare = [&](std::string name, double old_value, double new_value, double t, bool higher_is_worse) {
      MetricDiff d{std::move(name), old_value, new_value, 0.0, t, false, false};
      d.relative = old_value != 0.0 ? (new_value - old_value) / std::fabs(old_value) : (new_value == 0.0 ? 0.0 : 1.0);
      const double worse = higher_is_worse ? d.relative : -d.relative;
      d.regressed = worse > t;
      d.improved = -worse > t;
      o.diffs.push_back(d);
    };
    compare("step_time_s", b.step_time_s, c.step_time_s, tol.step_time, true);
    compare("tokens_per_second", b.tokens_per_second, c.tokens_per_second, tol.throughput, false);
    compare("mfu", b.mfu, c.mfu, tol.mfu, false);
    compare("peak_memory_bytes", static_cast<double>(b.peak_memory_bytes), static_cast<double>(c.peak_memory_bytes),
            tol.memory, true);
    const bool any_regressed = std::any_of(o.diffs.begin(), o.diffs.end(), [](const MetricDiff& d) { return d.regressed; });
    const bool any_improved = std::any_of(o.diffs.begin(), o.diffs.end(), [](const MetricDiff& d) { return d.improved; });
    if (b.fits && !c.fits) {
      o.status = CheckStatus::kRegressed;
      o.message = "no longer fits in memory";
    } else if (any_regressed) {
      o.status = CheckStatus::kRegressed;
    } else if (any_improved || (!b.fits && c.fits)) {
      o.status = CheckStatus::kImproved;
    }
    report.outcomes.push_back(std::move(o));
  }
  // Baseline entries of these files that this run did not produce.
  for (const BaselineEntry& e : baseline.entries) {
    if (stored.count(key_of(e.file, e.scenario, e.point)) == 0) continue;
    CheckOutcome o{e.file, e.scenario, e.point, CheckStatus::kMissing, {}, {}};
    o.message = "in the baseline but not produced by this run (renamed or removed? --update-baseline drops it)";
    report.outcomes.push_back(std::move(o));
  }
  return report;
}

std::string render_check_text(const CheckReport& report) {
  std::map<CheckStatus, int> counts;
  std::string out;
  for (const CheckOutcome& o : report.outcomes) {
    ++counts[o.status];
    out += std::string(status_word(o.status)) + "  " + o.file + ": " + display_name(o) + "\n";
    if (!o.message.empty()) out += "    " + o.message + "\n";
    for (const MetricDiff& d : o.diffs) {
      if (!d.regressed && !d.improved) continue;
      out += "    " + d.metric + ": " + value_text(d.baseline) + " -> " + value_text(d.current) + " (" +
             percent(d.relative) + ", tolerance " + detail::fixed(100.0 * d.tolerance, 2) + " %)" +
             (d.regressed ? " worse" : " better") + "\n";
    }
  }
  out += "\n" + std::to_string(report.outcomes.size()) + " checked: " + std::to_string(counts[CheckStatus::kOk]) +
         " ok, " + std::to_string(counts[CheckStatus::kImproved]) + " improved, " +
         std::to_string(counts[CheckStatus::kRegressed]) + " regressed, " + std::to_string(counts[CheckStatus::kNew]) +
         " new, " + std::to_string(counts[CheckStatus::kMissing]) + " missing: " +
         (report.passed() ? "PASSED" : "FAILED") + "\n";
  return out;
}

std::string render_junit(const CheckReport& report) {
  // Group by file, in first-seen order.
  std::vector<std::string> files;
  for (const CheckOutcome& o : report.outcomes) {
    if (std::find(files.begin(), files.end(), o.file) == files.end()) files.push_back(o.file);
  }
  std::size_t failures = 0;
  for (const CheckOutcome& o : report.outcomes) failures += (o.status == CheckStatus::kOk || o.status == CheckStatus::kImproved) ? 0 : 1;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<testsuites name=\"dtsim check\" tests=\"" + std::to_string(report.outcomes.size()) + "\" failures=\"" +
         std::to_string(failures) + "\">\n";
  for (const std::string& file : files) {
    std::size_t tests = 0, failed = 0;
    std::string cases;
    for (const CheckOutcome& o : report.outcomes) {
      if (o.file != file) continue;
      ++tests;
      cases += "    <testcase classname=\"dtsim.check." + xml_escape(o.scenario) + "\" name=\"" +
               xml_escape(o.point.empty() ? o.scenario : o.point) + "\" time=\"0\"";
      if (o.status == CheckStatus::kOk || o.status == CheckStatus::kImproved) {
        cases += "/>\n";
        continue;
      }
      ++failed;
      const std::string why = failure_text(o);
      cases += ">\n      <failure message=\"" + xml_escape(std::string(status_word(o.status)) + ": " + why) +
               "\" type=\"" + std::string(status_word(o.status)) + "\">" + xml_escape(why) + "</failure>\n    </testcase>\n";
    }
    out += "  <testsuite name=\"" + xml_escape(file) + "\" tests=\"" + std::to_string(tests) + "\" failures=\"" +
           std::to_string(failed) + "\">\n" + cases + "  </testsuite>\n";
  }
  out += "</testsuites>\n";
  return out;
}

}  // namespace dtsim::scenarios
