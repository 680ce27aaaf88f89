// Writing and reading calibration files (calibration_io.hpp has the format).
#include <array>
#include <cmath>
#include <cstdio>
#include <string>

#include "dtsim/core/unit_parse.hpp"
#include "dtsim/scenarios/calibration_io.hpp"
#include "json_reader.hpp"
#include "json_writer.hpp"

namespace dtsim::scenarios {

namespace {

using detail::child_path;
using detail::describe;
using detail::Diagnostics;
using detail::Json;
using detail::JsonWriter;

// Durations are written in microseconds with picosecond resolution, so a file
// reads back to the same Duration.
std::string duration_text(Duration d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f us", d.microseconds());
  return buf;
}

constexpr std::array<std::string_view, 6> kCollectiveNames{"all_reduce",     "all_gather", "reduce_scatter",
                                                           "all_to_all",     "broadcast",  "send_recv"};

std::string_view collective_name(CollectiveKind k) { return kCollectiveNames[static_cast<std::size_t>(k)]; }

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::kFp32: return "fp32";
    case DType::kBf16: return "bf16";
    case DType::kFp16: return "fp16";
    case DType::kFp8: return "fp8";
  }
  return "bf16";
}

void write_op(JsonWriter& w, const hardware::OpClassParams& p) {
  w.begin_object();
  w.key("compute_efficiency").number(p.compute_efficiency);
  if (p.fp8_compute_efficiency) w.key("fp8_compute_efficiency").number(*p.fp8_compute_efficiency);
  w.key("memory_efficiency").number(p.memory_efficiency);
  if (p.bf16_memory_efficiency) w.key("bf16_memory_efficiency").number(*p.bf16_memory_efficiency);
  w.key("kernel_overhead").string(duration_text(p.kernel_overhead));
  w.end_object();
}

// Reads one calibration file strictly, collecting every problem.
class Reader {
 public:
  explicit Reader(Diagnostics& d) : d_(d) {}

  const Json* object(const Json& parent, const std::string& path, std::string_view key,
                     std::span<const std::string_view> keys) {
    const auto it = parent.find(std::string(key));
    const std::string p = child_path(path, key);
    if (it == parent.end()) {
      d_.add(p, "missing; expected an object");
      return nullptr;
    }
    if (!it->is_object()) {
      d_.add(p, "expected an object, got " + describe(*it));
      return nullptr;
    }
    detail::check_keys(*it, p, keys, d_);
    return &*it;
  }
  const Json* array(const Json& parent, const std::string& path, std::string_view key) {
    const auto it = parent.find(std::string(key));
    const std::string p = child_path(path, key);
    if (it == parent.end()) {
      d_.add(p, "missing; expected an array");
      return nullptr;
    }
    if (!it->is_array()) {
      d_.add(p, "expected an array, got " + describe(*it));
      return nullptr;
    }
    return &*it;
  }
  bool has(const Json& parent, std::string_view key) { return parent.contains(std::string(key)); }
  void error(std::string path, std::string message) { d_.add(std::move(path), std::move(message)); }

  double number(const Json& v, const std::string& path, double lo, double hi, bool lo_open = false) {
    if (!v.is_number()) {
      d_.add(path, "expected a number, got " + describe(v));
      return lo;
    }
    const double x = v.get<double>();
    if (!std::isfinite(x) || x < lo || x > hi || (lo_open && x <= lo)) {
      d_.add(path, "expected a number in " + std::string(lo_open ? "(" : "[") + fmt(lo) + ", " + fmt(hi) + "], got " +
                       describe(v));
      return lo;
    }
    return x;
  }
  double number(const Json& parent, const std::string& path, std::string_view key, double lo, double hi,
                bool lo_open = false) {
    const Json* v = field(parent, path, key);
    return v ? number(*v, child_path(path, key), lo, hi, lo_open) : lo;
  }
  std::int64_t integer(const Json& v, const std::string& path, std::int64_t lo, std::int64_t hi) {
    if (!v.is_number_integer()) {
      d_.add(path, "expected an integer, got " + describe(v));
      return lo;
    }
    const auto x = v.get<std::int64_t>();
    if (x < lo || x > hi) {
      d_.add(path, "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got " +
                       describe(v));
      return lo;
    }
    return x;
  }
  std::int64_t integer(const Json& parent, const std::string& path, std::string_view key, std::int64_t lo,
                       std::int64_t hi) {
    const Json* v = field(parent, path, key);
    return v ? integer(*v, child_path(path, key), lo, hi) : lo;
  }
  std::string string(const Json& v, const std::string& path) {
    if (!v.is_string()) {
      d_.add(path, "expected a string, got " + describe(v));
      return {};
    }
    return v.get<std::string>();
  }
  std::string string(const Json& parent, const std::string& path, std::string_view key) {
    const Json* v = field(parent, path, key);
    return v ? string(*v, child_path(path, key)) : std::string();
  }
  Duration duration(const Json& parent, const std::string& path, std::string_view key) {
    const Json* v = field(parent, path, key);
    if (v == nullptr) return Duration::zero();
    const std::string p = child_path(path, key);
    if (!v->is_string()) {
      d_.add(p, "expected a duration string (\"7.4 us\"), got " + describe(*v));
      return Duration::zero();
    }
    const auto r = parse_duration(v->get<std::string>());
    if (!r) {
      d_.add(p, r.error());
      return Duration::zero();
    }
    if (*r < Duration::zero()) d_.add(p, "expected a non-negative duration, got " + describe(*v));
    return *r;
  }
  template <std::size_t N>
  int choice(const Json& v, const std::string& path, const std::array<std::string_view, N>& names) {
    const std::string s = string(v, path);
    for (std::size_t i = 0; i < N; ++i) {
      if (names[i] == s) return static_cast<int>(i);
    }
    if (v.is_string()) d_.add(path, "unknown value " + detail::quote(s) + "; " + detail::unknown_name_hint(s, names));
    return 0;
  }
  // An array element that must itself be an array of `n` values.
  const Json* tuple(const Json& v, const std::string& path, std::size_t n, std::string_view shape) {
    if (!v.is_array() || v.size() != n) {
      d_.add(path, "expected " + std::string(shape) + ", got " + describe(v));
      return nullptr;
    }
    return &v;
  }

 private:
  const Json* field(const Json& parent, const std::string& path, std::string_view key) {
    const auto it = parent.find(std::string(key));
    if (it == parent.end()) {
      d_.add(child_path(path, key), "missing");
      return nullptr;
    }
    return &*it;
  }
  static std::string fmt(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", x);
    return buf;
  }
  Diagnostics& d_;
};

constexpr std::array<std::string_view, 12> kTopKeys{"schema_version", "kind",      "name",      "gpu",
                                                    "source",         "op",        "gemm",      "attention",
                                                    "collective",     "host",      "overlap",   "residuals"};
constexpr std::array<std::string_view, 5> kOpKeys{"compute_efficiency", "fp8_compute_efficiency", "memory_efficiency",
                                                  "bf16_memory_efficiency", "kernel_overhead"};
constexpr std::array<std::string_view, 4> kGemmKeys{"tile_m", "tile_n", "k_half", "samples"};
constexpr std::array<std::string_view, 2> kAttentionKeys{"samples", "tails"};
constexpr std::array<std::string_view, 8> kCollectiveKeys{
    "nvlink_efficiency",      "network_efficiency",     "base_latency", "intra_hop_latency", "inter_hop_latency",
    "tree_intra_hop_latency", "tree_inter_hop_latency", "curves"};
constexpr std::array<std::string_view, 3> kCurveKeys{"kind", "group_size", "points"};
constexpr std::array<std::string_view, 9> kHostKeys{"kernel_launch",        "collective_launch", "dtensor_op",
                                                    "dtensor_redistribute", "eager_kernel_gap",  "layers",
                                                    "eager_blocks",         "forward_shares",    "wrappers"};
constexpr std::array<std::string_view, 2> kOverlapKeys{"compute_slowdown", "memory_slowdown"};
constexpr std::array<std::string_view, 5> kResidualKeys{"group", "kind", "samples", "mean_abs_error", "max_abs_error"};
constexpr std::array<std::string_view, 4> kDtypes{"fp32", "bf16", "fp16", "fp8"};
constexpr std::array<std::string_view, 2> kDirections{"fwd", "bwd"};
constexpr std::array<std::string_view, 2> kAttentionKernels{"cudnn", "flash2"};  // AttentionKernel order

void read_ops(Reader& r, const Json& doc, hardware::Calibration& cal) {
  std::vector<std::string_view> names;
  for (int i = 0; i < kOpClassCount; ++i) names.push_back(to_string(static_cast<OpClass>(i)));
  const Json* op = r.object(doc, "", "op", names);
  if (op == nullptr) return;
  for (int i = 0; i < kOpClassCount; ++i) {
    const auto c = static_cast<OpClass>(i);
    const std::string path = "/op";
    const Json* o = r.object(*op, path, to_string(c), kOpKeys);
    if (o == nullptr) continue;
    const std::string p = child_path(path, to_string(c));
    hardware::OpClassParams& params = cal.params(c);
    params.compute_efficiency = r.number(*o, p, "compute_efficiency", 0.0, 1.5, true);
    if (r.has(*o, "fp8_compute_efficiency")) {
      params.fp8_compute_efficiency = r.number(*o, p, "fp8_compute_efficiency", 0.0, 1.5, true);
    } else {
      params.fp8_compute_efficiency.reset();
    }
    params.memory_efficiency = r.number(*o, p, "memory_efficiency", 0.0, 1.5, true);
    if (r.has(*o, "bf16_memory_efficiency")) {
      params.bf16_memory_efficiency = r.number(*o, p, "bf16_memory_efficiency", 0.0, 1.5, true);
    } else {
      params.bf16_memory_efficiency.reset();
    }
    params.kernel_overhead = r.duration(*o, p, "kernel_overhead");
  }
}

void read_gemm(Reader& r, const Json& doc, hardware::Calibration& cal) {
  const Json* g = r.object(doc, "", "gemm", kGemmKeys);
  if (g == nullptr) return;
  cal.gemm_tile_m = static_cast<int>(r.integer(*g, "/gemm", "tile_m", 1, 4096));
  cal.gemm_tile_n = static_cast<int>(r.integer(*g, "/gemm", "tile_n", 1, 4096));
  cal.gemm_k_half = r.number(*g, "/gemm", "k_half", 0.0, 1e9);
  const Json* samples = r.array(*g, "/gemm", "samples");
  if (samples == nullptr) return;
  for (std::size_t i = 0; i < samples->size(); ++i) {
    const std::string p = child_path("/gemm/samples", i);
    const Json* t = r.tuple((*samples)[i], p, 6, "[M, N, K, batch, dtype, efficiency]");
    if (t == nullptr) continue;
    hardware::GemmSample s;
    constexpr std::int64_t kMax = std::int64_t{1} << 40;
    s.shape.m = r.integer((*t)[0], child_path(p, 0), 1, kMax);
    s.shape.n = r.integer((*t)[1], child_path(p, 1), 1, kMax);
    s.shape.k = r.integer((*t)[2], child_path(p, 2), 1, kMax);
    s.shape.batch = r.integer((*t)[3], child_path(p, 3), 1, kMax);
    s.dtype = static_cast<DType>(r.choice((*t)[4], child_path(p, 4), kDtypes));
    s.efficiency = r.number((*t)[5], child_path(p, 5), 0.0, 1.5, true);
    cal.gemm_samples.push_back(s);
  }
}

void read_attention(Reader& r, const Json& doc, hardware::Calibration& cal) {
  const Json* a = r.object(doc, "", "attention", kAttentionKeys);
  if (a == nullptr) return;
  const Json* samples = r.array(*a, "/attention", "samples");
  if (samples == nullptr) return;
  for (std::size_t i = 0; i < samples->size(); ++i) {
    const std::string p = child_path("/attention/samples", i);
    const Json* t =
        r.tuple((*samples)[i], p, 5, "[\"flash2\" | \"cudnn\", seq, head_dim, \"fwd\" | \"bwd\", efficiency]");
    if (t == nullptr) continue;
    hardware::AttentionSample s;
    s.kernel = static_cast<AttentionKernel>(r.choice((*t)[0], child_path(p, 0), kAttentionKernels));
    s.seq = r.integer((*t)[1], child_path(p, 1), 1, std::int64_t{1} << 40);
    s.head_dim = r.integer((*t)[2], child_path(p, 2), 1, 65536);
    s.backward = r.choice((*t)[3], child_path(p, 3), kDirections) == 1;
    s.efficiency = r.number((*t)[4], child_path(p, 4), 0.0, 1.5, true);
    cal.attention_samples.push_back(s);
  }
  // "tails": [[kernel, direction, blocks_per_sm], ...] (optional; files
  // written before session 7 have none).
  if (!a->contains("tails")) return;
  const Json* tails = r.array(*a, "/attention", "tails");
  if (tails == nullptr) return;
  for (std::size_t i = 0; i < tails->size(); ++i) {
    const std::string p = child_path("/attention/tails", i);
    const Json* t = r.tuple((*tails)[i], p, 3, "[\"flash2\" | \"cudnn\", \"fwd\" | \"bwd\", blocks_per_sm]");
    if (t == nullptr) continue;
    hardware::AttentionTail tail;
    tail.kernel = static_cast<AttentionKernel>(r.choice((*t)[0], child_path(p, 0), kAttentionKernels));
    tail.backward = r.choice((*t)[1], child_path(p, 1), kDirections) == 1;
    tail.blocks_per_sm = r.number((*t)[2], child_path(p, 2), 0.0, 64.0);
    cal.attention_tails.push_back(tail);
  }
}

void read_collective(Reader& r, const Json& doc, hardware::Calibration& cal, Diagnostics& d) {
  const Json* c = r.object(doc, "", "collective", kCollectiveKeys);
  if (c == nullptr) return;
  const std::string path = "/collective";
  hardware::CollectiveParams& p = cal.collective;
  p.nvlink_efficiency = r.number(*c, path, "nvlink_efficiency", 0.0, 1.5, true);
  p.network_efficiency = r.number(*c, path, "network_efficiency", 0.0, 1.5, true);
  p.base_latency = r.duration(*c, path, "base_latency");
  p.intra_hop_latency = r.duration(*c, path, "intra_hop_latency");
  p.inter_hop_latency = r.duration(*c, path, "inter_hop_latency");
  p.tree_intra_hop_latency = r.duration(*c, path, "tree_intra_hop_latency");
  p.tree_inter_hop_latency = r.duration(*c, path, "tree_inter_hop_latency");
  p.curves.clear();
  const Json* curves = r.array(*c, path, "curves");
  if (curves == nullptr) return;
  for (std::size_t i = 0; i < curves->size(); ++i) {
    const std::string cp = child_path("/collective/curves", i);
    const Json& v = (*curves)[i];
    if (!v.is_object()) {
      r.error(cp, "expected an object, got " + describe(v));
      continue;
    }
    detail::check_keys(v, cp, kCurveKeys, d);
    hardware::CollectiveCurve curve;
    if (v.contains("kind")) {
      curve.kind = static_cast<CollectiveKind>(r.choice(v["kind"], child_path(cp, "kind"), kCollectiveNames));
    } else {
      r.error(child_path(cp, "kind"), "missing");
    }
    curve.group_size = static_cast<int>(r.integer(v, cp, "group_size", 2, 1 << 20));
    const Json* pts = r.array(v, cp, "points");
    if (pts == nullptr) continue;
    for (std::size_t j = 0; j < pts->size(); ++j) {
      const std::string pp = child_path(child_path(cp, "points"), j);
      const Json* t = r.tuple((*pts)[j], pp, 2, "[bytes, factor]");
      if (t == nullptr) continue;
      const Bytes bytes(r.integer((*t)[0], child_path(pp, 0), 0, std::int64_t{1} << 50));
      if (!curve.points.empty() && bytes <= curve.points.back().bytes) {
        r.error(child_path(pp, 0), "sizes must ascend: " + std::to_string(bytes.count()) + " follows " +
                                       std::to_string(curve.points.back().bytes.count()));
      }
      curve.points.push_back({bytes, r.number((*t)[1], child_path(pp, 1), 0.0, 1.5, true)});
    }
    p.curves.push_back(std::move(curve));
  }
}

// "eager_blocks": [[block, precision, ratio], ...] (optional; files written
// before session 7 have none): "llama", "gpt" or "moe", "bf16" or "amp_bf16";
// a fourth element "full" for a ratio measured under full recompute.
void read_block_hosts(Reader& r, const Json& host, std::vector<hardware::EagerBlockHost>& out) {
  if (!host.contains("eager_blocks")) return;
  const Json* blocks = r.array(host, "/host", "eager_blocks");
  if (blocks == nullptr) return;
  for (std::size_t i = 0; i < blocks->size(); ++i) {
    const std::string p = child_path("/host/eager_blocks", i);
    const Json& entry = (*blocks)[i];
    const Json* t = r.tuple(entry, p, entry.is_array() && entry.size() == 4 ? 4 : 3,
                            "[\"llama\" | \"gpt\" | \"moe\", \"bf16\" | \"amp_bf16\", ratio(, \"full\")]");
    if (t == nullptr) continue;
    hardware::EagerBlockHost b;
    const std::string block = (*t)[0].is_string() ? (*t)[0].get<std::string>() : "";
    const std::string precision = (*t)[1].is_string() ? (*t)[1].get<std::string>() : "";
    if (block != "llama" && block != "gpt" && block != "moe") {
      r.error(child_path(p, 0), "expected \"llama\", \"gpt\" or \"moe\", got " + describe((*t)[0]));
    }
    if (precision != "bf16" && precision != "amp_bf16") {
      r.error(child_path(p, 1), "expected \"bf16\" or \"amp_bf16\", got " + describe((*t)[1]));
    }
    b.block = block == "gpt"   ? hardware::EagerBlock::kGpt
              : block == "moe" ? hardware::EagerBlock::kMoe
                               : hardware::EagerBlock::kLlama;
    b.autocast = precision == "amp_bf16";
    b.ratio = r.number((*t)[2], child_path(p, 2), 0.0, 10.0, true);
    if (t->size() == 4) {
      if ((*t)[3] != "full") r.error(child_path(p, 3), "expected \"full\" (recompute), got " + describe((*t)[3]));
      b.recompute = true;
    }
    out.push_back(b);
  }
}

// "forward_shares": [[block, precision, recompute, share], ...] (optional;
// files written before session 11 have none): "llama" or "gpt", "bf16" or
// "amp_bf16", "none" or "full", the forward's share in (0, 1).
void read_forward_shares(Reader& r, const Json& host, std::vector<hardware::ForwardShare>& out) {
  if (!host.contains("forward_shares")) return;
  const Json* shares = r.array(host, "/host", "forward_shares");
  if (shares == nullptr) return;
  for (std::size_t i = 0; i < shares->size(); ++i) {
    const std::string p = child_path("/host/forward_shares", i);
    const Json* t = r.tuple((*shares)[i], p, 4,
                            "[\"llama\" | \"gpt\", \"bf16\" | \"amp_bf16\", \"none\" | \"full\", share]");
    if (t == nullptr) continue;
    hardware::ForwardShare f;
    const auto text = [&](std::size_t k) { return (*t)[k].is_string() ? (*t)[k].get<std::string>() : ""; };
    if (text(0) != "llama" && text(0) != "gpt") r.error(child_path(p, 0), "expected \"llama\" or \"gpt\", got " + describe((*t)[0]));
    if (text(1) != "bf16" && text(1) != "amp_bf16") {
      r.error(child_path(p, 1), "expected \"bf16\" or \"amp_bf16\", got " + describe((*t)[1]));
    }
    if (text(2) != "none" && text(2) != "full") r.error(child_path(p, 2), "expected \"none\" or \"full\", got " + describe((*t)[2]));
    f.block = text(0) == "gpt" ? hardware::EagerBlock::kGpt : hardware::EagerBlock::kLlama;
    f.autocast = text(1) == "amp_bf16";
    f.recompute = text(2) == "full";
    f.share = r.number((*t)[3], child_path(p, 3), 0.0, 1.0, true);
    out.push_back(f);
  }
}

// "wrappers": [[wrapper, precision, all_gather, rest], ...] (optional; files
// written before session 8 have none): "ddp" or "fsdp2"; "bf16", "amp_bf16"
// or "fsdp_mp_bf16"; ratios to the bf16 Llama layer (HostParams::wrappers).
void read_wrapper_hosts(Reader& r, const Json& host, std::vector<hardware::WrapperHost>& out) {
  if (!host.contains("wrappers")) return;
  const Json* wrappers = r.array(host, "/host", "wrappers");
  if (wrappers == nullptr) return;
  for (std::size_t i = 0; i < wrappers->size(); ++i) {
    const std::string p = child_path("/host/wrappers", i);
    const Json* t = r.tuple((*wrappers)[i], p, 4,
                            "[\"ddp\" | \"fsdp2\", \"bf16\" | \"amp_bf16\" | \"fsdp_mp_bf16\", all_gather, rest]");
    if (t == nullptr) continue;
    hardware::WrapperHost w;
    const std::string wrapper = (*t)[0].is_string() ? (*t)[0].get<std::string>() : "";
    const std::string precision = (*t)[1].is_string() ? (*t)[1].get<std::string>() : "";
    if (wrapper != "ddp" && wrapper != "fsdp2") {
      r.error(child_path(p, 0), "expected \"ddp\" or \"fsdp2\", got " + describe((*t)[0]));
    }
    if (precision != "bf16" && precision != "amp_bf16" && precision != "fsdp_mp_bf16") {
      r.error(child_path(p, 1), "expected \"bf16\", \"amp_bf16\" or \"fsdp_mp_bf16\", got " + describe((*t)[1]));
    }
    w.wrapper = wrapper == "fsdp2" ? hardware::DataParallelWrapper::kFsdp2 : hardware::DataParallelWrapper::kDdp;
    w.precision = precision == "amp_bf16"       ? hardware::WrapperPrecision::kAmp
                  : precision == "fsdp_mp_bf16" ? hardware::WrapperPrecision::kFsdpMixed
                                                : hardware::WrapperPrecision::kBf16;
    w.all_gather = r.number((*t)[2], child_path(p, 2), 0.0, 10.0);
    w.rest = r.number((*t)[3], child_path(p, 3), 0.0, 10.0);
    out.push_back(w);
  }
}

void read_layer_hosts(Reader& r, const Json& host, std::vector<hardware::LayerHost>& out) {
  const Json* layers = r.array(host, "/host", "layers");
  if (layers == nullptr) return;
  for (std::size_t i = 0; i < layers->size(); ++i) {
    const std::string p = child_path("/host/layers", i);
    const Json* t = r.tuple((*layers)[i], p, 4, "[tp, sequence_parallel, processes, \"duration\"]");
    if (t == nullptr) continue;
    hardware::LayerHost l;
    l.tp = static_cast<int>(r.integer((*t)[0], child_path(p, 0), 1, 1 << 20));
    if (!(*t)[1].is_boolean()) {
      r.error(child_path(p, 1), "expected true or false, got " + describe((*t)[1]));
    } else {
      l.sequence_parallel = (*t)[1].get<bool>();
    }
    l.processes = static_cast<int>(r.integer((*t)[2], child_path(p, 2), 1, 1 << 20));
    const auto d = (*t)[3].is_string() ? parse_duration((*t)[3].get<std::string>()) : ParseResult<Duration>::fail("");
    if (!d || *d < Duration::zero()) {
      r.error(child_path(p, 3), "expected a non-negative duration string (\"1.8 ms\"), got " + describe((*t)[3]));
    } else {
      l.layer = *d;
    }
    out.push_back(l);
  }
}

void read_residuals(Reader& r, const Json& doc, std::vector<hardware::FitResidual>& out, Diagnostics& d) {
  const Json* res = r.array(doc, "", "residuals");
  if (res == nullptr) return;
  for (std::size_t i = 0; i < res->size(); ++i) {
    const std::string p = child_path("/residuals", i);
    const Json& v = (*res)[i];
    if (!v.is_object()) {
      d.add(p, "expected an object, got " + describe(v));
      continue;
    }
    detail::check_keys(v, p, kResidualKeys, d);
    hardware::FitResidual f;
    f.group = r.string(v, p, "group");
    f.kind = r.string(v, p, "kind");
    f.samples = static_cast<int>(r.integer(v, p, "samples", 0, 1 << 30));
    f.mean_abs_error = r.number(v, p, "mean_abs_error", 0.0, 1e9);
    f.max_abs_error = r.number(v, p, "max_abs_error", 0.0, 1e9);
    out.push_back(std::move(f));
  }
}

}  // namespace

std::string write_calibration_json(const CalibrationFile& file) {
  const hardware::Calibration& cal = file.calibration;
  JsonWriter w(2);
  w.begin_object();
  w.key("schema_version").integer(kCalibrationSchemaVersion);
  w.key("kind").string("dtsim-calibration");
  w.key("name").string(cal.name);
  w.key("gpu").string(file.gpu);
  w.key("source").string(cal.source);
  w.key("op").begin_object();
  for (int i = 0; i < kOpClassCount; ++i) {
    const auto c = static_cast<OpClass>(i);
    w.key(to_string(c));
    write_op(w, cal.params(c));
  }
  w.end_object();
  w.key("gemm").begin_object();
  w.key("tile_m").integer(cal.gemm_tile_m);
  w.key("tile_n").integer(cal.gemm_tile_n);
  w.key("k_half").number(cal.gemm_k_half);
  w.key("samples").begin_array();
  for (const hardware::GemmSample& s : cal.gemm_samples) {
    w.begin_array().integer(s.shape.m).integer(s.shape.n).integer(s.shape.k).integer(s.shape.batch);
    w.string(dtype_name(s.dtype)).number(s.efficiency).end_array();
  }
  w.end_array().end_object();
  w.key("attention").begin_object().key("samples").begin_array();
  for (const hardware::AttentionSample& s : cal.attention_samples) {
    w.begin_array().string(to_string(s.kernel)).integer(s.seq).integer(s.head_dim);
    w.string(s.backward ? "bwd" : "fwd").number(s.efficiency);
    w.end_array();
  }
  w.end_array();
  if (!cal.attention_tails.empty()) {  // absent before session 7: older files refit byte-identically
    w.key("tails").begin_array();
    for (const hardware::AttentionTail& t : cal.attention_tails) {
      w.begin_array().string(to_string(t.kernel)).string(t.backward ? "bwd" : "fwd").number(t.blocks_per_sm);
      w.end_array();
    }
    w.end_array();
  }
  w.end_object();
  const hardware::CollectiveParams& c = cal.collective;
  w.key("collective").begin_object();
  w.key("nvlink_efficiency").number(c.nvlink_efficiency);
  w.key("network_efficiency").number(c.network_efficiency);
  w.key("base_latency").string(duration_text(c.base_latency));
  w.key("intra_hop_latency").string(duration_text(c.intra_hop_latency));
  w.key("inter_hop_latency").string(duration_text(c.inter_hop_latency));
  w.key("tree_intra_hop_latency").string(duration_text(c.tree_intra()));
  w.key("tree_inter_hop_latency").string(duration_text(c.tree_inter()));
  w.key("curves").begin_array();
  for (const hardware::CollectiveCurve& curve : c.curves) {
    w.begin_object();
    w.key("kind").string(collective_name(curve.kind));
    w.key("group_size").integer(curve.group_size);
    w.key("points").begin_array();
    for (const hardware::CollectiveCurvePoint& p : curve.points) {
      w.begin_array().integer(p.bytes.count()).number(p.factor).end_array();
    }
    w.end_array().end_object();
  }
  w.end_array().end_object();
  w.key("host").begin_object();
  w.key("kernel_launch").string(duration_text(cal.host.kernel_launch));
  w.key("collective_launch").string(duration_text(cal.host.collective_launch));
  w.key("dtensor_op").string(duration_text(cal.host.dtensor_op));
  w.key("dtensor_redistribute").string(duration_text(cal.host.dtensor_redistribute));
  w.key("eager_kernel_gap").string(duration_text(cal.host.eager_kernel_gap));
  w.key("layers").begin_array();
  for (const hardware::LayerHost& l : cal.host.layers) {
    w.begin_array().integer(l.tp).boolean(l.sequence_parallel).integer(l.processes).string(duration_text(l.layer));
    w.end_array();
  }
  w.end_array();
  if (!cal.host.blocks.empty()) {  // absent before session 7: older files refit byte-identically
    w.key("eager_blocks").begin_array();
    for (const hardware::EagerBlockHost& b : cal.host.blocks) {
      w.begin_array()
          .string(std::string(hardware::to_string(b.block)))
          .string(b.autocast ? "amp_bf16" : "bf16")
          .number(b.ratio);
      if (b.recompute) w.string("full");
      w.end_array();
    }
    w.end_array();
  }
  if (!cal.host.forward_shares.empty()) {  // absent before session 11: older files refit byte-identically
    w.key("forward_shares").begin_array();
    for (const hardware::ForwardShare& f : cal.host.forward_shares) {
      w.begin_array()
          .string(std::string(hardware::to_string(f.block)))
          .string(f.autocast ? "amp_bf16" : "bf16")
          .string(f.recompute ? "full" : "none")
          .number(f.share);
      w.end_array();
    }
    w.end_array();
  }
  if (!cal.host.wrappers.empty()) {  // absent before session 8: older files refit byte-identically
    w.key("wrappers").begin_array();
    for (const hardware::WrapperHost& h : cal.host.wrappers) {
      w.begin_array()
          .string(h.wrapper == hardware::DataParallelWrapper::kFsdp2 ? "fsdp2" : "ddp")
          .string(h.precision == hardware::WrapperPrecision::kAmp         ? "amp_bf16"
                  : h.precision == hardware::WrapperPrecision::kFsdpMixed ? "fsdp_mp_bf16"
                                                                          : "bf16")
          .number(h.all_gather)
          .number(h.rest);
      w.end_array();
    }
    w.end_array();
  }
  w.end_object();
  w.key("overlap").begin_object();
  w.key("compute_slowdown").number(cal.overlap.compute_slowdown);
  w.key("memory_slowdown").number(cal.overlap.memory_slowdown);
  w.end_object();
  w.key("residuals").begin_array();
  for (const hardware::FitResidual& f : file.residuals) {
    w.begin_object();
    w.key("group").string(f.group);
    w.key("kind").string(f.kind);
    w.key("samples").integer(f.samples);
    w.key("mean_abs_error").number(f.mean_abs_error);
    w.key("max_abs_error").number(f.max_abs_error);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  std::string text = w.take();
  text.push_back('\n');
  return text;
}

CalibrationFile read_calibration_json(std::string_view text, std::string_view origin) {
  const Json doc = detail::parse_json_document(text);
  Diagnostics d;
  if (!doc.is_object()) throw InputError("", "expected a calibration object at the top level, got " + describe(doc));
  detail::check_keys(doc, "", kTopKeys, d);
  Reader r(d);
  if (r.integer(doc, "", "schema_version", kCalibrationSchemaVersion, kCalibrationSchemaVersion) !=
      kCalibrationSchemaVersion) {
    d.throw_if_any();
  }
  if (const std::string kind = r.string(doc, "", "kind"); kind != "dtsim-calibration" && doc.contains("kind")) {
    d.add("/kind", "expected \"dtsim-calibration\", got " + describe(doc["kind"]) +
                       (origin.empty() ? std::string() : " (is '" + std::string(origin) + "' a calibration file?)"));
  }
  CalibrationFile f;
  f.calibration.name = r.string(doc, "", "name");
  if (doc.contains("name") && f.calibration.name.empty()) d.add("/name", "must not be empty");
  f.gpu = r.string(doc, "", "gpu");
  f.calibration.source = r.string(doc, "", "source");
  read_ops(r, doc, f.calibration);
  read_gemm(r, doc, f.calibration);
  read_attention(r, doc, f.calibration);
  read_collective(r, doc, f.calibration, d);
  if (const Json* h = r.object(doc, "", "host", kHostKeys)) {
    f.calibration.host.kernel_launch = r.duration(*h, "/host", "kernel_launch");
    f.calibration.host.collective_launch = r.duration(*h, "/host", "collective_launch");
    f.calibration.host.dtensor_op = r.duration(*h, "/host", "dtensor_op");
    f.calibration.host.dtensor_redistribute = r.duration(*h, "/host", "dtensor_redistribute");
    f.calibration.host.eager_kernel_gap = r.duration(*h, "/host", "eager_kernel_gap");
    read_layer_hosts(r, *h, f.calibration.host.layers);
    read_block_hosts(r, *h, f.calibration.host.blocks);
    read_forward_shares(r, *h, f.calibration.host.forward_shares);
    read_wrapper_hosts(r, *h, f.calibration.host.wrappers);
  }
  if (const Json* o = r.object(doc, "", "overlap", kOverlapKeys)) {
    f.calibration.overlap.compute_slowdown = r.number(*o, "/overlap", "compute_slowdown", 1.0, 10.0);
    f.calibration.overlap.memory_slowdown = r.number(*o, "/overlap", "memory_slowdown", 1.0, 10.0);
  }
  read_residuals(r, doc, f.residuals, d);
  // The cross-field checks, once every field read cleanly (a value that did
  // not read is already reported).
  if (d.empty()) d.append(hardware::validate_calibration(f.calibration, ""));
  d.throw_if_any();
  return f;
}

}  // namespace dtsim::scenarios
