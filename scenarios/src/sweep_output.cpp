// A sweep's outputs: the ranked table, CSV and JSON, and reading the JSON back
// (shards are merged from it). Every output is a function of the SweepResult
// alone, and the JSON carries every number exactly (integers for times and
// sizes, shortest round-trip text for the rest), so parse(render(r)) == r.
#include <cstdio>

#include "dtsim/core/unit_parse.hpp"
#include "dtsim/scenarios/sweep.hpp"
#include "json_reader.hpp"
#include "json_writer.hpp"
#include "sweep_format.hpp"

namespace dtsim::scenarios {
namespace {

using detail::exact_number;
using detail::Json;
using detail::JsonWriter;

constexpr int kSweepJsonVersion = 1;

bool has_cost(const SweepResult& r) {
  for (const PointResult& p : r.points) {
    if (!p.skipped && p.metrics.cost) return true;
  }
  return false;
}

bool has_price(const SweepResult& r) {
  for (const PointResult& p : r.points) {
    if (!p.skipped && p.metrics.cost && p.metrics.cost->cost) return true;
  }
  return false;
}

std::string currency_of(const SweepResult& r) {
  for (const PointResult& p : r.points) {
    if (!p.skipped && p.metrics.cost) return p.metrics.currency;
  }
  return {};
}

std::string csv_cell(std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// ---- reading back ------------------------------------------------------------

const Json& need(const Json& object, std::string_view key, const std::string& path) {
  if (!object.is_object()) throw InputError(path, "expected an object, got " + detail::describe(object));
  const auto it = object.find(std::string(key));
  if (it == object.end()) throw InputError(path, "missing required key " + detail::quote(key));
  return *it;
}

std::int64_t need_integer(const Json& object, std::string_view key, const std::string& path) {
  const Json& v = need(object, key, path);
  if (!v.is_number_integer()) {
    throw InputError(detail::child_path(path, key), "expected an integer, got " + detail::describe(v));
  }
  return v.get<std::int64_t>();
}

double need_number(const Json& object, std::string_view key, const std::string& path) {
  const Json& v = need(object, key, path);
  if (!v.is_number()) throw InputError(detail::child_path(path, key), "expected a number, got " + detail::describe(v));
  return v.get<double>();
}

std::string need_string(const Json& object, std::string_view key, const std::string& path) {
  const Json& v = need(object, key, path);
  if (!v.is_string()) throw InputError(detail::child_path(path, key), "expected a string, got " + detail::describe(v));
  return v.get<std::string>();
}

bool need_boolean(const Json& object, std::string_view key, const std::string& path) {
  const Json& v = need(object, key, path);
  if (!v.is_boolean()) throw InputError(detail::child_path(path, key), "expected true or false, got " + detail::describe(v));
  return v.get<bool>();
}

int need_int(const Json& object, std::string_view key, const std::string& path) {
  const std::int64_t v = need_integer(object, key, path);
  if (v < 0 || v > (std::int64_t{1} << 30)) {
    throw InputError(detail::child_path(path, key), "expected an integer from 0 to 2^30, got " + std::to_string(v));
  }
  return static_cast<int>(v);
}

PointMetrics read_metrics(const Json& p, const std::string& path) {
  PointMetrics m;
  m.num_gpus = need_int(p, "num_gpus", path);
  m.tp = need_int(p, "tp", path);
  m.pp = need_int(p, "pp", path);
  m.dp = need_int(p, "dp", path);
  m.num_microbatches = need_integer(p, "num_microbatches", path);
  m.step_time = Duration::from_ps(need_integer(p, "step_time_ps", path));
  m.tokens_per_second = need_number(p, "tokens_per_second", path);
  m.mfu = need_number(p, "mfu", path);
  const std::string bpath = detail::child_path(path, "breakdown_ps");
  const Json& b = need(p, "breakdown_ps", path);
  m.breakdown.compute = Duration::from_ps(need_integer(b, "compute", bpath));
  m.breakdown.exposed_comm = Duration::from_ps(need_integer(b, "exposed_comm", bpath));
  m.breakdown.bubble = Duration::from_ps(need_integer(b, "bubble", bpath));
  m.breakdown.optimizer = Duration::from_ps(need_integer(b, "optimizer", bpath));
  m.breakdown.host_wait = Duration::from_ps(need_integer(b, "host_wait", bpath));
  m.breakdown.other = Duration::from_ps(need_integer(b, "other", bpath));
  m.peak_memory = Bytes(need_integer(p, "peak_memory_bytes", path));
  m.memory_capacity = Bytes(need_integer(p, "memory_capacity_bytes", path));
  m.fits = need_boolean(p, "fits", path);
  if (const auto it = p.find("cost"); it != p.end()) {
    const std::string cpath = detail::child_path(path, "cost");
    CostEstimate c;
    c.steps = need_integer(*it, "steps", cpath);
    c.time_to_train_s = need_number(*it, "time_to_train_s", cpath);
    c.gpu_hours = need_number(*it, "gpu_hours", cpath);
    c.energy_kwh = need_number(*it, "energy_kwh", cpath);
    if (it->contains("cost")) c.cost = need_number(*it, "cost", cpath);
    m.currency = need_string(*it, "currency", cpath);
    m.cost = c;
  }
  return m;
}

}  // namespace

std::string render_sweep_table(const SweepResult& result, Metric metric, std::size_t top) {
  const std::vector<std::size_t> order = rank_points(result, metric);
  const std::vector<std::string> axes = detail::axis_headers(result.axis_paths);
  const bool cost = has_cost(result);
  const bool price = has_price(result);
  std::int64_t skipped = 0;
  for (const PointResult& p : result.points) skipped += p.skipped ? 1 : 0;

  std::string out = "Sweep " + result.name + ": " + std::to_string(result.points.size()) + " points";
  if (result.shard) out += " (shard " + std::to_string(result.shard->index) + "/" + std::to_string(result.shard->count) +
                           " of " + std::to_string(result.total_points) + ")";
  out += ", " + std::to_string(order.size()) + " simulated, " + std::to_string(skipped) + " skipped; ranked by " +
         std::string(metric_name(metric)) + (lower_is_better(metric) ? " (lowest first)" : " (highest first)") + "\n\n";

  if (!order.empty()) {
    std::vector<std::string> headers{"rank", "point"};
    for (const std::string& a : axes) headers.push_back(a);
    for (const char* h : {"GPUs", "TPxPPxDP", "step time", "tokens/s", "MFU", "memory/GPU", "fits"}) headers.emplace_back(h);
    if (cost) {
      for (const char* h : {"time to train", "GPU-hours", "energy"}) headers.emplace_back(h);
      if (price) headers.push_back("cost (" + currency_of(result) + ")");
    }
    std::vector<bool> right(headers.size(), true);
    std::vector<std::vector<std::string>> rows;
    const std::size_t shown = top == 0 ? order.size() : std::min(top, order.size());
    for (std::size_t r = 0; r < shown; ++r) {
      const PointResult& p = result.points[order[r]];
      const PointMetrics& m = p.metrics;
      std::vector<std::string> row{std::to_string(r + 1), std::to_string(p.index)};
      for (const std::string& v : p.values) row.push_back(detail::display_value(v));
      row.push_back(std::to_string(m.num_gpus));
      row.push_back(std::to_string(m.tp) + "x" + std::to_string(m.pp) + "x" + std::to_string(m.dp));
      row.push_back(format_duration(m.step_time));
      row.push_back(detail::si(m.tokens_per_second));
      row.push_back(detail::fixed(100.0 * m.mfu, 1) + " %");
      row.push_back(format_bytes(m.peak_memory));
      row.push_back(m.fits ? "yes" : "OOM");
      if (cost) {
        if (m.cost) {
          row.push_back(detail::format_long_time(m.cost->time_to_train_s));
          row.push_back(detail::si(m.cost->gpu_hours));
          row.push_back(detail::si(m.cost->energy_kwh * 1000.0).append("Wh"));
          if (price) row.push_back(m.cost->cost ? detail::si(*m.cost->cost) : "-");
        } else {
          for (int i = 0; i < (price ? 4 : 3); ++i) row.emplace_back("-");
        }
      }
      rows.push_back(std::move(row));
    }
    out += detail::render_columns(headers, right, rows);
    if (shown < order.size()) out += "... " + std::to_string(order.size() - shown) + " more (--top 0 shows all)\n";
  } else {
    out += "No point could be simulated.\n";
  }
  const auto reasons = skip_reasons(result);
  if (!reasons.empty()) {
    out += "\nSkipped " + std::to_string(skipped) + " points:\n";
    constexpr std::size_t kShownReasons = 10;
    for (std::size_t i = 0; i < reasons.size() && i < kShownReasons; ++i) {
      out += "  " + std::to_string(reasons[i].second) + " x " + reasons[i].first + "\n";
    }
    if (reasons.size() > kShownReasons) {
      out += "  ... and " + std::to_string(reasons.size() - kShownReasons) + " other reasons (--csv lists every point)\n";
    }
  }
  return out;
}

std::string render_sweep_csv(const SweepResult& result) {
  std::string out = "index";
  for (const std::string& p : result.axis_paths) out.append(",").append(csv_cell(p));
  out.append(",status,reason,num_gpus,tp,pp,dp,num_microbatches,step_time_s,tokens_per_second,mfu,"
         "peak_memory_bytes,memory_capacity_bytes,fits,compute_s,exposed_comm_s,bubble_s,optimizer_s,host_wait_s,other_s,"
         "steps,time_to_train_s,gpu_hours,energy_kwh,cost,currency\n");
  for (const PointResult& p : result.points) {
    // Appended cell by cell: GCC 12 reports a false -Wrestrict on "," + std::string.
    std::vector<std::string> cells{std::to_string(p.index)};
    for (const std::string& v : p.values) cells.push_back(csv_cell(detail::display_value(v)));
    if (p.skipped) {
      cells.emplace_back("skipped");
      cells.push_back(csv_cell(p.reason));
      cells.resize(cells.size() + 24);
    } else {
      const PointMetrics& m = p.metrics;
      cells.emplace_back("simulated");
      cells.emplace_back();
      for (const std::int64_t v : {std::int64_t{m.num_gpus}, std::int64_t{m.tp}, std::int64_t{m.pp}, std::int64_t{m.dp},
                                   m.num_microbatches}) {
        cells.push_back(std::to_string(v));
      }
      cells.push_back(exact_number(m.step_time.seconds()));
      cells.push_back(exact_number(m.tokens_per_second));
      cells.push_back(exact_number(m.mfu));
      cells.push_back(std::to_string(m.peak_memory.count()));
      cells.push_back(std::to_string(m.memory_capacity.count()));
      cells.emplace_back(m.fits ? "true" : "false");
      for (const Duration d : {m.breakdown.compute, m.breakdown.exposed_comm, m.breakdown.bubble,
                               m.breakdown.optimizer, m.breakdown.host_wait, m.breakdown.other}) {
        cells.push_back(exact_number(d.seconds()));
      }
      if (m.cost) {
        cells.push_back(std::to_string(m.cost->steps));
        cells.push_back(exact_number(m.cost->time_to_train_s));
        cells.push_back(exact_number(m.cost->gpu_hours));
        cells.push_back(exact_number(m.cost->energy_kwh));
        cells.push_back(m.cost->cost ? exact_number(*m.cost->cost) : std::string());
        cells.push_back(csv_cell(m.currency));
      } else {
        cells.resize(cells.size() + 6);
      }
    }
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) out.push_back(',');
      out.append(cells[i]);
    }
    out.push_back('\n');
  }
  return out;
}

std::string render_sweep_json(const SweepResult& result) {
  JsonWriter w(2);
  w.begin_object();
  w.key("sweep_version").integer(kSweepJsonVersion);
  w.key("name").string(result.name);
  w.key("fingerprint").string(result.fingerprint);
  w.key("mode").string(result.zip ? "zip" : "product");
  w.key("axes").begin_array();
  for (const std::string& p : result.axis_paths) w.string(p);
  w.end_array();
  w.key("total_points").integer(result.total_points);
  if (result.shard) {
    w.key("shard").begin_object();
    w.key("index").integer(result.shard->index);
    w.key("count").integer(result.shard->count);
    w.end_object();
  }
  w.key("points").begin_array();
  for (const PointResult& p : result.points) {
    w.begin_object();
    w.key("index").integer(p.index);
    w.key("values").begin_array();
    for (const std::string& v : p.values) w.raw_number(v);
    w.end_array();
    w.key("status").string(p.skipped ? "skipped" : "simulated");
    if (p.skipped) {
      w.key("reason").string(p.reason);
      w.end_object();
      continue;
    }
    const PointMetrics& m = p.metrics;
    w.key("num_gpus").integer(m.num_gpus);
    w.key("tp").integer(m.tp);
    w.key("pp").integer(m.pp);
    w.key("dp").integer(m.dp);
    w.key("num_microbatches").integer(m.num_microbatches);
    w.key("step_time_ps").integer(m.step_time.ps());
    w.key("tokens_per_second").raw_number(exact_number(m.tokens_per_second));
    w.key("mfu").raw_number(exact_number(m.mfu));
    w.key("breakdown_ps").begin_object();
    w.key("compute").integer(m.breakdown.compute.ps());
    w.key("exposed_comm").integer(m.breakdown.exposed_comm.ps());
    w.key("bubble").integer(m.breakdown.bubble.ps());
    w.key("optimizer").integer(m.breakdown.optimizer.ps());
    w.key("host_wait").integer(m.breakdown.host_wait.ps());
    w.key("other").integer(m.breakdown.other.ps());
    w.end_object();
    w.key("peak_memory_bytes").integer(m.peak_memory.count());
    w.key("memory_capacity_bytes").integer(m.memory_capacity.count());
    w.key("fits").boolean(m.fits);
    if (m.cost) {
      w.key("cost").begin_object();
      w.key("steps").integer(m.cost->steps);
      w.key("time_to_train_s").raw_number(exact_number(m.cost->time_to_train_s));
      w.key("gpu_hours").raw_number(exact_number(m.cost->gpu_hours));
      w.key("energy_kwh").raw_number(exact_number(m.cost->energy_kwh));
      if (m.cost->cost) w.key("cost").raw_number(exact_number(*m.cost->cost));
      w.key("currency").string(m.currency);
      w.end_object();
    }
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.take() + "\n";
}

SweepResult parse_sweep_json(std::string_view text) {
  const Json doc = detail::parse_json_document(text);
  SweepResult r;
  const std::int64_t version = need_integer(doc, "sweep_version", "");
  if (version != kSweepJsonVersion) {
    throw InputError("/sweep_version", "expected " + std::to_string(kSweepJsonVersion) + ", got " + std::to_string(version) +
                                           " (not a dtsim sweep output of this version)");
  }
  r.name = need_string(doc, "name", "");
  r.fingerprint = need_string(doc, "fingerprint", "");
  const std::string mode = need_string(doc, "mode", "");
  if (mode != "zip" && mode != "product") throw InputError("/mode", "expected product or zip, got '" + mode + "'");
  r.zip = mode == "zip";
  const Json& axes = need(doc, "axes", "");
  if (!axes.is_array()) throw InputError("/axes", "expected an array of JSON pointers");
  for (std::size_t i = 0; i < axes.size(); ++i) {
    if (!axes[i].is_string()) throw InputError(detail::child_path("/axes", i), "expected a string");
    r.axis_paths.push_back(axes[i].get<std::string>());
  }
  r.total_points = need_integer(doc, "total_points", "");
  if (doc.contains("shard")) {
    Shard s;
    s.index = need_int(doc["shard"], "index", "/shard");
    s.count = need_int(doc["shard"], "count", "/shard");
    if (s.count < 1 || s.index < 1 || s.index > s.count) throw InputError("/shard", "expected 1 <= index <= count");
    r.shard = s;
  }
  const Json& points = need(doc, "points", "");
  if (!points.is_array()) throw InputError("/points", "expected an array");
  for (std::size_t i = 0; i < points.size(); ++i) {
    const std::string path = detail::child_path("/points", i);
    const Json& p = points[i];
    PointResult pr;
    pr.index = need_integer(p, "index", path);
    if (pr.index < 0 || pr.index >= r.total_points) throw InputError(detail::child_path(path, "index"), "out of range");
    const Json& values = need(p, "values", path);
    if (!values.is_array() || values.size() != r.axis_paths.size()) {
      throw InputError(detail::child_path(path, "values"), "expected one value per axis");
    }
    for (const Json& v : values) pr.values.push_back(v.dump());
    const std::string status = need_string(p, "status", path);
    if (status == "skipped") {
      pr.skipped = true;
      pr.reason = need_string(p, "reason", path);
    } else if (status == "simulated") {
      pr.metrics = read_metrics(p, path);
    } else {
      throw InputError(detail::child_path(path, "status"), "expected simulated or skipped, got '" + status + "'");
    }
    r.points.push_back(std::move(pr));
  }
  return r;
}

}  // namespace dtsim::scenarios
