#include "dtsim/scenarios/scenario.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>

#include "dtsim/hardware/calibration.hpp"
#include "dtsim/scenarios/calibration_io.hpp"
#include "dtsim/hardware/topology.hpp"
#include "dtsim/models/parallel_plan.hpp"
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
using detail::read_fields;
using detail::require_object;

constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t{64} << 20;

// Guards that keep one simulation's size and arithmetic sane (documented in
// docs/scenario-format.md, "Limits").
constexpr std::int64_t kMaxTokensPerMicrobatch = std::int64_t{1} << 24;
constexpr std::int64_t kMaxGpus = std::int64_t{1} << 20;
constexpr std::int64_t kMaxStageWork = std::int64_t{1} << 18;  // micro-batches x layers of one stage

constexpr std::string_view kDatasheetDefaults = "datasheet-defaults";

std::vector<std::string_view> views(const std::vector<std::string>& names) {
  return {names.begin(), names.end()};
}

const Json* member(const Json& object, std::string_view key) {
  const auto it = object.find(std::string(key));
  return it == object.end() ? nullptr : &*it;
}

// True when the object sets any key other than `base` and `name`.
bool has_overrides(const Json& object) {
  for (const auto& [key, value] : object.items()) {
    if (key != "base" && key != "name") return true;
  }
  return false;
}

std::string derived_name(const std::string& base, const Json& object) {
  return has_overrides(object) ? base + " (modified)" : base;
}

// Reads everything a scenario says; each part is read even when another part
// failed, so that one run reports every problem.
class Loader {
 public:
  Loader(const Catalogs& catalogs, std::string_view origin, const detail::LoadOptions& options = {})
      : catalogs_(catalogs), origin_(origin), options_(options) {}

  Scenario load(std::string_view text) { return load_document(detail::parse_json_document(text)); }

  Scenario load_document(const Json& doc) {
    if (!doc.is_object()) throw InputError("", "expected a JSON object at the top level, got " + describe(doc));
    check_schema_version(doc);

    Scenario s;
    read_fields(doc, "", detail::kScenarioFields, s, diags_);
    if (member(doc, "name") == nullptr) s.name = default_name();

    const bool training_ok = read_training(doc, s.spec.training);
    const bool model_ok = read_model(doc, s, training_ok);
    const bool plan_ok = read_plan(doc, s.spec.plan);
    const bool cluster_ok = read_cluster(doc, s);
    read_simulation(doc, s.spec.options);
    const bool calibration_ok = cluster_ok && read_calibration(doc, s);
    read_cost(doc, s);
    if (const Json* sweep = member(doc, "sweep")) detail::check_sweep_section(*sweep, diags_);

    if (options_.fill_dp && plan_ok && cluster_ok && diags_.empty()) fill_dp(s);
    if (training_ok && model_ok && plan_ok && cluster_ok && calibration_ok && diags_.empty()) cross_check(s);
    diags_.throw_if_any();
    return s;
  }

 private:
  std::string default_name() const {
    if (origin_.empty()) return "unnamed";
    return std::filesystem::path(origin_).stem().string();
  }

  // A wrong version means the rest cannot be read as this version: stop.
  void check_schema_version(const Json& doc) {
    const Json* v = member(doc, "schema_version");
    if (v == nullptr || !v->is_number_integer()) return;  // reported with the other fields
    if (v->is_number_unsigned() ? v->get<std::uint64_t>() != kSchemaVersion : v->get<std::int64_t>() != kSchemaVersion) {
      throw InputError("/schema_version", "unsupported schema_version " + v->dump() + "; this dtsim reads schema_version " +
                                              std::to_string(kSchemaVersion));
    }
  }

  // A required or defaulted object section; absent optional sections read as {}.
  template <typename T, std::size_t N>
  bool read_section(const Json& doc, std::string_view key, const std::string& path,
                    const std::array<detail::Field<T>, N>& fields, T& target) {
    const Json* v = member(doc, key);
    if (v == nullptr) {
      // A missing required section is reported by the top-level table; an
      // optional one takes every default.
      if (detail::parameter_of(detail::kScenarioFields, key).presence == Presence::kRequired) return false;
      read_fields(Json::object(), path, fields, target, diags_);
      return true;
    }
    if (!require_object(*v, path, diags_)) return false;
    const std::size_t before = diags_.size();
    read_fields(*v, path, fields, target, diags_);
    return diags_.size() == before;
  }

  template <typename Spec, typename Find>
  std::optional<Spec> find_named(const Json& v, const std::string& path, std::string_view what,
                                 const std::vector<std::string>& names, Find find) {
    if (!v.is_string()) {
      diags_.add(path, "expected a " + std::string(what) + " name (string), got " + describe(v));
      return std::nullopt;
    }
    const std::string& name = v.get_ref<const std::string&>();
    if (const Spec* spec = find(name)) return *spec;
    const std::vector<std::string_view> known = views(names);
    diags_.add(path, "unknown " + std::string(what) + " " + quote(name) + "; " +
                         detail::unknown_name_hint(name, known, "available: "));
    return std::nullopt;
  }

  std::optional<models::ModelSpec> find_model(const Json& v, const std::string& path) {
    return find_named<models::ModelSpec>(v, path, "model", catalogs_.models.names(),
                                         [&](const std::string& n) { return catalogs_.models.find(n); });
  }
  std::optional<hardware::NodeSpec> find_node(const Json& v, const std::string& path) {
    return find_named<hardware::NodeSpec>(v, path, "node", catalogs_.hardware.node_names(),
                                          [&](const std::string& n) { return catalogs_.hardware.find_node(n); });
  }
  std::optional<hardware::GpuSpec> find_gpu(const Json& v, const std::string& path) {
    return find_named<hardware::GpuSpec>(v, path, "GPU", catalogs_.hardware.gpu_names(),
                                         [&](const std::string& n) { return catalogs_.hardware.find_gpu(n); });
  }

  bool read_model(const Json& doc, Scenario& s, bool training_ok) {
    const Json* v = member(doc, "model");
    if (v == nullptr) return false;
    const std::string path = "/model";
    if (v->is_string()) {
      auto m = find_model(*v, path);
      if (!m) return false;
      s.model_base = v->get<std::string>();
      s.spec.model = std::move(*m);
      return true;
    }
    if (!v->is_object()) {
      diags_.add(path, "expected a model name or an object, got " + describe(*v));
      return false;
    }
    const std::size_t before = diags_.size();
    models::ModelSpec& m = s.spec.model;
    const Json* base = member(*v, "base");
    if (base != nullptr) {
      auto b = find_model(*base, child_path(path, "base"));
      if (!b) {
        detail::check_keys(*v, path, detail::keys_of(detail::kModelFields), diags_);
        return false;
      }
      s.model_base = base->get<std::string>();
      m = std::move(*b);
      read_fields(*v, path, detail::kModelFields, m, diags_, true);
      if (member(*v, "name") == nullptr) m.name = derived_name(s.model_base, *v);
      return diags_.size() == before;
    }
    read_fields(*v, path, detail::kModelFields, m, diags_);
    if (diags_.size() != before) return false;
    if (member(*v, "name") == nullptr) m.name = "custom";
    if (member(*v, "num_kv_heads") == nullptr) m.num_kv_heads = m.num_heads;
    if (member(*v, "head_dim") == nullptr && m.attention == models::AttentionKind::kMla) {
      m.head_dim = m.mla.qk_nope_head_dim + m.mla.qk_rope_head_dim;
    } else if (member(*v, "head_dim") == nullptr) {
      if (m.hidden % m.num_heads != 0) {
        diags_.add(path, "hidden (" + std::to_string(m.hidden) + ") is not divisible by num_heads (" +
                             std::to_string(m.num_heads) + "); give head_dim explicitly");
        return false;
      }
      m.head_dim = m.hidden / m.num_heads;
    }
    if (member(*v, "max_seq_len") == nullptr) {
      if (!training_ok) return false;
      m.max_seq_len = s.spec.training.seq_len;
    }
    return true;
  }

  bool read_training(const Json& doc, models::TrainingSpec& training) {
    if (!read_section(doc, "training", "/training", detail::kTrainingFields, training)) return false;
    if (training.optimizer == models::OptimizerImpl::kForeach && training.framework == models::Framework::kMegatron) {
      diags_.add("/training/optimizer",
                 "adamw_foreach is PyTorch's multi-tensor AdamW; Megatron's optimizer is fused (expected "
                 "\"adamw_fused\", or a pytorch framework)");
      return false;
    }
    // An empty list would read as "no list" (the default, core_attn): say so
    // instead of recomputing something the scenario did not ask for.
    const Json* modules = member(*member(doc, "training"), "recompute_modules");
    if (modules != nullptr && modules->empty()) {
      diags_.add("/training/recompute_modules",
                 "an empty list recomputes nothing; expected at least one module name (no recompute: "
                 "recompute = \"none\"; the attention core only: leave recompute_modules out)");
      return false;
    }
    return true;
  }

  bool read_plan(const Json& doc, models::ParallelPlan& plan) {
    if (!read_section(doc, "plan", "/plan", detail::kPlanFields, plan)) return false;
    const Json* order = member(*member(doc, "plan"), "order");
    if (order == nullptr) return true;
    // The table read each entry; the set must name every dimension once.
    std::vector<std::string> names;
    for (const auto& e : *order) names.push_back(e.get<std::string>());
    std::vector<std::string> sorted = names;
    std::sort(sorted.begin(), sorted.end());
    if (sorted != std::vector<std::string>{"dp", "pp", "tp"}) {
      diags_.add("/plan/order", "expected tp, dp and pp once each, got " + order->dump());
      return false;
    }
    return true;
  }

  bool read_gpu(const Json& v, const std::string& path, hardware::GpuSpec& gpu) {
    if (v.is_string()) {
      auto g = find_gpu(v, path);
      if (g) gpu = std::move(*g);
      return g.has_value();
    }
    if (!v.is_object()) {
      diags_.add(path, "expected a GPU name or an object, got " + describe(v));
      return false;
    }
    const Json* base = member(v, "base");
    if (base == nullptr) {
      detail::check_keys(v, path, detail::keys_of(detail::kGpuFields), diags_);
      diags_.add(path, "missing required key 'base' (a GPU preset to start from: " +
                           detail::join(catalogs_.hardware.gpu_names()) + ")");
      return false;
    }
    auto b = find_gpu(*base, child_path(path, "base"));
    if (!b) {
      detail::check_keys(v, path, detail::keys_of(detail::kGpuFields), diags_);
      return false;
    }
    const std::size_t before = diags_.size();
    gpu = std::move(*b);
    read_fields(v, path, detail::kGpuFields, gpu, diags_, true);
    if (member(v, "name") == nullptr) gpu.name = derived_name(base->get<std::string>(), v);
    return diags_.size() == before;
  }

  bool read_node(const Json& v, const std::string& path, Scenario& s) {
    hardware::NodeSpec& node = s.spec.cluster.node;
    if (v.is_string()) {
      auto n = find_node(v, path);
      if (!n) return false;
      s.node_base = v.get<std::string>();
      node = std::move(*n);
      return true;
    }
    if (!v.is_object()) {
      diags_.add(path, "expected a node name or an object, got " + describe(v));
      return false;
    }
    const Json* base = member(v, "base");
    if (base == nullptr) {
      detail::check_keys(v, path, detail::keys_of(detail::kNodeFields), diags_);
      diags_.add(path, "missing required key 'base' (a node preset to start from: " +
                           detail::join(catalogs_.hardware.node_names()) + ")");
      return false;
    }
    auto b = find_node(*base, child_path(path, "base"));
    if (!b) {
      detail::check_keys(v, path, detail::keys_of(detail::kNodeFields), diags_);
      return false;
    }
    const std::size_t before = diags_.size();
    s.node_base = base->get<std::string>();
    node = std::move(*b);
    const hardware::NodeSpec base_node = node;
    read_fields(v, path, detail::kNodeFields, node, diags_, true);
    if (const Json* gpu = member(v, "gpu")) read_gpu(*gpu, child_path(path, "gpu"), node.gpu);
    if (member(v, "nics_per_node") == nullptr && member(v, "gpus_per_node") != nullptr) {
      // Keep the base's NICs per GPU (one per GPU for every DGX preset).
      node.nics_per_node = std::max(1, static_cast<int>(static_cast<std::int64_t>(node.gpus_per_node) *
                                                        base_node.nics_per_node / base_node.gpus_per_node));
    }
    if (member(v, "name") == nullptr) node.name = derived_name(s.node_base, v);
    return diags_.size() == before;
  }

  bool read_cluster(const Json& doc, Scenario& s) {
    const Json* v = member(doc, "cluster");
    if (v == nullptr) return false;
    const std::string path = "/cluster";
    if (!require_object(*v, path, diags_)) return false;
    const std::size_t before = diags_.size();
    hardware::ClusterSpec& c = s.spec.cluster;
    read_fields(*v, path, detail::kClusterFields, c, diags_);
    if (const Json* node = member(*v, "node")) read_node(*node, child_path(path, "node"), s);
    const Json* fabric = member(*v, "fabric");
    const std::string fabric_path = child_path(path, "fabric");
    if (fabric == nullptr) {
      read_fields(Json::object(), fabric_path, detail::kFabricFields, c.fabric, diags_);
    } else if (require_object(*fabric, fabric_path, diags_)) {
      read_fields(*fabric, fabric_path, detail::kFabricFields, c.fabric, diags_);
    }
    if (diags_.size() != before) return false;
    // What only the whole cluster shows (NICs vs GPUs, radix parity, tiers).
    std::vector<Diagnostic> more = hardware::validate_cluster(c, path);
    const bool ok = more.empty();
    diags_.append(std::move(more));
    return ok;
  }

  void read_cost(const Json& doc, Scenario& s) {
    const Json* v = member(doc, "cost");
    if (v == nullptr || !require_object(*v, "/cost", diags_)) return;
    CostSpec cost;
    read_fields(*v, "/cost", detail::kCostFields, cost, diags_);
    s.cost = std::move(cost);
  }

  // dp = GPUs / (the plan's other sizes): world_size() / dp is their product.
  void fill_dp(Scenario& s) {
    models::ParallelPlan& p = s.spec.plan;
    const std::int64_t gpus = s.spec.cluster.num_gpus();
    const std::int64_t others = p.world_size() / p.dp;
    if (others <= 0 || gpus % others != 0) {
      diags_.add("/plan/dp", "cannot fill dp: the cluster's " + std::to_string(gpus) +
                                 " GPUs are not a multiple of the plan's other parallel sizes (" +
                                 std::to_string(others) + ")");
      return;
    }
    p.dp = static_cast<int>(gpus / others);
  }

  void read_simulation(const Json& doc, sim::SimulationOptions& options) {
    read_section(doc, "simulation", "/simulation", detail::kSimulationFields, options);
  }

  bool read_calibration(const Json& doc, Scenario& s) {
    const Json* v = member(doc, "calibration");
    if (v != nullptr && !v->is_string()) {
      diags_.add("/calibration", "expected a calibration name or file path (string), got " + describe(*v));
      return false;
    }
    const std::string name = v == nullptr ? std::string(kDatasheetDefaults) : v->get<std::string>();
    if (name == kDatasheetDefaults) {
      s.spec.calibration = hardware::datasheet_defaults(s.spec.cluster.node.gpu);
      return true;
    }
    const std::filesystem::path base = origin_.empty() ? std::filesystem::path() : std::filesystem::path(origin_).parent_path();
    const auto file = find_calibration_file(name, base, catalogs_.calibration_dirs);
    if (!file) {
      std::vector<std::string> known = calibration_names(catalogs_.calibration_dirs);
      known.insert(known.begin(), std::string(kDatasheetDefaults));
      std::vector<std::string_view> views(known.begin(), known.end());
      diags_.add("/calibration", "unknown calibration " + quote(name) + "; " +
                                     detail::unknown_name_hint(name, views, "expected a file path or one of "));
      return false;
    }
    CalibrationFile cal;
    try {
      cal = read_calibration_json(read_text_file(*file), file->string());
    } catch (const InputError& e) {
      for (const Diagnostic& d : e.diagnostics()) {
        diags_.add("/calibration", "in '" + file->string() + "'" + (d.path.empty() ? "" : " at " + d.path) + ": " +
                                       d.message);
      }
      return false;
    }
    if (cal.gpu != s.spec.cluster.node.gpu.name) {
      diags_.add("/calibration", "calibration " + quote(cal.calibration.name) + " was measured on " + quote(cal.gpu) +
                                     " GPUs, but the cluster's GPU is " + quote(s.spec.cluster.node.gpu.name) +
                                     "; fit one for it with `dtsim calibrate` or use \"datasheet-defaults\"");
      return false;
    }
    s.spec.calibration = std::move(cal.calibration);
    return true;
  }

  // Rules that span sections; run only when every section read cleanly.
  void cross_check(const Scenario& s) {
    const models::ModelSpec& m = s.spec.model;
    const models::TrainingSpec& t = s.spec.training;
    const models::ParallelPlan& p = s.spec.plan;
    const hardware::ClusterSpec& c = s.spec.cluster;

    if (m.num_heads % m.num_kv_heads != 0) {
      diags_.add("/model/num_kv_heads", "must divide num_heads (" + std::to_string(m.num_heads) + "), got " +
                                            std::to_string(m.num_kv_heads));
    }
    diags_.append(models::validate_model(m, "/model"));
    if (m.position == models::PositionKind::kLearned && t.seq_len > m.max_seq_len) {
      diags_.add("/training/seq_len", "the model's learned positions cover " + std::to_string(m.max_seq_len) +
                                          " tokens (max_seq_len), got " + std::to_string(t.seq_len));
    }
    if (t.seq_len * t.micro_batch > kMaxTokensPerMicrobatch) {
      diags_.add("/training/micro_batch", "seq_len x micro_batch = " + std::to_string(t.seq_len * t.micro_batch) +
                                              " tokens per micro-batch; at most " +
                                              std::to_string(kMaxTokensPerMicrobatch) + " are supported");
    }
    const std::int64_t gpus = static_cast<std::int64_t>(c.num_nodes) * c.node.gpus_per_node;
    if (gpus > kMaxGpus) {
      diags_.add("/cluster", std::to_string(c.num_nodes) + " nodes x " + std::to_string(c.node.gpus_per_node) +
                                 " GPUs = " + std::to_string(gpus) + " GPUs; at most " + std::to_string(kMaxGpus) +
                                 " are supported");
    }
    // Without a plan, validate_plan (which includes these rules) does not run.
    if (options_.plan_free) {
      diags_.append(models::validate_recompute(m, t, "/training"));
      return;
    }
    const std::int64_t world = static_cast<std::int64_t>(p.dp) * p.tp * p.pp * p.cp;
    if (world != gpus) {
      diags_.add("/plan", std::string(p.cp > 1 ? "dp\u00d7tp\u00d7pp\u00d7cp" : "dp\u00d7tp\u00d7pp") + " = " +
                              std::to_string(world) + " but the cluster has " +
                              std::to_string(gpus) + " GPUs (" + std::to_string(c.num_nodes) + " nodes \u00d7 " +
                              std::to_string(c.node.gpus_per_node) + ")");
    }
    std::vector<Diagnostic> plan_problems = models::validate_plan(m, t, p, "/plan", "/training");
    if (plan_problems.empty()) {
      const std::int64_t microbatches = models::num_microbatches(t, p);
      const std::int64_t layers_per_stage = (m.num_layers + p.pp - 1) / p.pp;
      if (microbatches * layers_per_stage > kMaxStageWork) {
        diags_.add("/training/global_batch",
                   std::to_string(microbatches) + " micro-batches x " + std::to_string(layers_per_stage) +
                       " layers per stage = " + std::to_string(microbatches * layers_per_stage) +
                       " layer passes per pipeline stage; at most " + std::to_string(kMaxStageWork) +
                       " are supported (raise micro_batch or lower global_batch)");
      }
    }
    diags_.append(std::move(plan_problems));
  }

  const Catalogs& catalogs_;
  std::string origin_;
  detail::LoadOptions options_;
  Diagnostics diags_;
};

std::string plural(std::int64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

}  // namespace

Catalogs builtin_catalogs() {
  Catalogs c{models::builtin_models(), hardware::builtin_hardware(), {}};
  // The source tree's fitted calibrations, then the installed copies.
  for (const char* dir : {DTSIM_SOURCE_CALIBRATION_DIR, DTSIM_INSTALLED_CALIBRATION_DIR}) c.calibration_dirs.emplace_back(dir);
  return c;
}

Scenario load_scenario(std::string_view json_text, const Catalogs& catalogs, std::string_view origin) {
  Loader loader(catalogs, origin);
  return loader.load(json_text);
}

namespace detail {
Scenario load_scenario_document(const Json& doc, const Catalogs& catalogs, std::string_view origin,
                                const LoadOptions& options) {
  Loader loader(catalogs, origin, options);
  return loader.load_document(doc);
}
}  // namespace detail

std::string read_text_file(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  const std::string shown = "'" + path.string() + "'";
  if (ec || !std::filesystem::exists(status)) {
    throw InputError("", "cannot read " + shown + ": " + (ec ? ec.message() : "No such file or directory"));
  }
  if (std::filesystem::is_directory(status)) throw InputError("", "cannot read " + shown + ": it is a directory");
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > kMaxFileBytes) throw InputError("", "cannot read " + shown + ": larger than 64 MiB");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in || in.bad()) throw InputError("", "cannot read " + shown);
  return text.str();
}

Scenario load_scenario_file(const std::filesystem::path& path, const Catalogs& catalogs) {
  Scenario s = load_scenario(read_text_file(path), catalogs, path.string());
  s.file = path.string();
  return s;
}

std::vector<Diagnostic> check_network(const Scenario& scenario) {
  try {
    const hardware::Topology topology(scenario.spec.cluster, scenario.spec.calibration);
  } catch (const InputError& e) {
    return e.diagnostics();
  }
  return {};
}

std::vector<Diagnostic> validate_scenario(std::string_view json_text, const Catalogs& catalogs) {
  try {
    return check_network(load_scenario(json_text, catalogs));
  } catch (const InputError& e) {
    return e.diagnostics();
  }
}

std::string summary(const Scenario& s) {
  const auto& spec = s.spec;
  const auto& p = spec.plan;
  std::string out = spec.model.name + ", seq " + std::to_string(spec.training.seq_len) + " x global batch " +
                    std::to_string(spec.training.global_batch) + ", on " + std::to_string(spec.cluster.num_nodes) +
                    " x " + spec.cluster.node.name + " (" + std::to_string(spec.cluster.num_gpus()) + " x " +
                    spec.cluster.node.gpu.name + "), TP " + std::to_string(p.tp) + " x PP " + std::to_string(p.pp) +
                    " x DP " + std::to_string(p.dp);
  if (p.pp > 1) {
    out += ", " + std::string(detail::name_of(detail::kScheduleChoices, p.schedule));
    if (p.virtual_stages > 1) out += " with " + plural(p.virtual_stages, "virtual stage", "virtual stages");
  }
  if (p.zero_stage > 0) out += ", ZeRO-" + std::to_string(p.zero_stage);
  out += ", " + plural(models::num_microbatches(spec.training, p), "micro-batch", "micro-batches") + " per replica";
  return out;
}

}  // namespace dtsim::scenarios
