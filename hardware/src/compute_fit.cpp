// Compute part of the calibration fit: GEMM, attention and memory-bound
// kernels, and their residuals (calibration_fit.hpp states the method).
#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <tuple>

#include "dtsim/hardware/op_cost_model.hpp"
#include "fit_common.hpp"

namespace dtsim::hardware::fit {

namespace {

ComputeWork gemm_work(const GemmMeasurement& m) {
  ComputeWork w;
  w.op_class = OpClass::kGemm;
  w.dtype = m.dtype;
  const GemmShape& s = m.shape;
  w.flops = Flops(2.0 * static_cast<double>(s.m) * static_cast<double>(s.n) * static_cast<double>(s.k) *
                  static_cast<double>(s.batch));
  const std::int64_t in_size = dtype_size(m.dtype);
  w.bytes_read = Bytes((s.m * s.k + s.k * s.n) * s.batch * in_size);
  w.bytes_written = Bytes(s.m * s.n * s.batch * 2);  // bf16 output for both dtypes
  w.gemm = s;
  return w;
}

ComputeWork attention_work(const AttentionShape& shape, bool backward, Flops forward_flops) {
  ComputeWork w;
  w.op_class = OpClass::kAttention;
  w.dtype = DType::kBf16;
  w.flops = backward ? forward_flops * 2.5 : forward_flops;
  w.attention = shape;
  w.attention->backward = backward;
  const double tokens = static_cast<double>(shape.batch * shape.seq_q);
  const double io = tokens * static_cast<double>(shape.head_dim) * 2.0 *
                    static_cast<double>(2 * shape.heads + 2 * shape.kv_heads);
  w.bytes_read = Bytes(static_cast<std::int64_t>(backward ? 2.0 * io : 0.75 * io));
  w.bytes_written = Bytes(static_cast<std::int64_t>(backward ? io : 0.25 * io));
  return w;
}

// Attention forward and forward+backward of one shape, paired up.
struct AttentionPair {
  const AttentionMeasurement* forward = nullptr;
  const AttentionMeasurement* forward_backward = nullptr;
};
using AttentionKey = std::tuple<AttentionKernel, std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t>;

std::map<AttentionKey, AttentionPair> pair_attention(const std::vector<AttentionMeasurement>& records) {
  std::map<AttentionKey, AttentionPair> pairs;
  for (const AttentionMeasurement& m : records) {
    const AttentionShape& s = m.shape;
    AttentionPair& p = pairs[{s.kernel, s.seq_q, s.head_dim, s.heads, s.kv_heads, s.batch}];
    (s.backward ? p.forward_backward : p.forward) = &m;
  }
  return pairs;
}

double peak_bf16(const GpuSpec& gpu) { return gpu.peak_bf16.flops_per_second(); }

// peak x wave / achieved = a + b / K over the records of one dtype.
struct GemmLine {
  double a = 0.0, b = 0.0, sse = 0.0;
};

GemmLine fit_gemm_line(const std::vector<GemmMeasurement>& records, DType dtype, const OpCostModel& shape_model,
                       double peak, Duration overhead) {
  std::vector<std::array<double, 3>> rows;  // 1/K, y, weight
  for (const GemmMeasurement& m : records) {
    if (m.dtype != dtype) continue;
    const double busy = (m.time - overhead).seconds();
    if (busy <= 0.0) continue;
    const double achieved = gemm_work(m).flops.count() / busy / peak;
    const double y = shape_model.wave_efficiency(m.shape) / achieved;
    rows.push_back({1.0 / static_cast<double>(std::max<std::int64_t>(m.shape.k, 1)), y, 1.0 / y});
  }
  GemmLine line;
  if (rows.empty()) return line;
  Eigen::MatrixXd a(static_cast<Eigen::Index>(rows.size()), 2);
  Eigen::VectorXd y(static_cast<Eigen::Index>(rows.size()));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto r = static_cast<Eigen::Index>(i);
    a(r, 0) = rows[i][2];
    a(r, 1) = rows[i][0] * rows[i][2];
    y(r) = rows[i][1] * rows[i][2];
  }
  const Eigen::VectorXd x = a.colPivHouseholderQr().solve(y);
  line.a = x(0);
  line.b = x(1);
  if (line.b < 0.0 || line.a <= 0.0) {  // no K loss visible: a constant efficiency
    line.b = 0.0;
    line.a = y.sum() / a.col(0).sum();
  }
  line.sse = (a * Eigen::Vector2d(line.a, line.b) - y).squaredNorm();
  return line;
}

double clamp_efficiency(double e) { return std::clamp(e, 1e-3, 1.5); }

}  // namespace

void fit_gemm(const Records& r, const GpuSpec& gpu, Calibration& cal) {
  OpClassParams& p = cal.params(OpClass::kGemm);
  const Duration overhead = p.kernel_overhead;
  const double peak = peak_bf16(gpu);
  GemmLine best;
  std::pair<int, int> best_tile{cal.gemm_tile_m, cal.gemm_tile_n};
  bool first = true;
  for (const auto& [tm, tn] : {std::pair{128, 128}, std::pair{128, 256}, std::pair{256, 128}}) {
    Calibration trial = cal;
    trial.gemm_tile_m = tm;
    trial.gemm_tile_n = tn;
    const OpCostModel shapes(gpu, trial);
    const GemmLine line = fit_gemm_line(r.gemm, DType::kBf16, shapes, peak, overhead);
    if (line.a > 0.0 && (first || line.sse < best.sse)) {
      best = line;
      best_tile = {tm, tn};
      first = false;
    }
  }
  if (first) return;  // no usable bf16 record
  cal.gemm_tile_m = best_tile.first;
  cal.gemm_tile_n = best_tile.second;
  p.compute_efficiency = clamp_efficiency(1.0 / best.a);
  cal.gemm_k_half = best.b / best.a;

  const double fp8_peak = gpu.peak_fp8.flops_per_second();
  if (fp8_peak > 0.0) {
    const OpCostModel shapes(gpu, cal);
    std::vector<double> ratio;  // parametric shape factor / achieved
    for (const GemmMeasurement& m : r.gemm) {
      if (m.dtype != DType::kFp8) continue;
      const double busy = (m.time - overhead).seconds();
      if (busy <= 0.0) continue;
      const double k = static_cast<double>(m.shape.k);
      ratio.push_back(shapes.wave_efficiency(m.shape) * k / (k + cal.gemm_k_half) /
                      (gemm_work(m).flops.count() / busy / fp8_peak));
    }
    if (!ratio.empty()) p.fp8_compute_efficiency = clamp_efficiency(1.0 / median(ratio));
  }

  cal.gemm_samples.clear();
  for (const GemmMeasurement& m : r.gemm) {
    const double unit_peak = m.dtype == DType::kFp8 && fp8_peak > 0.0 ? fp8_peak : peak;
    const double busy = (m.time - overhead).seconds();
    if (busy <= 0.0) continue;
    cal.gemm_samples.push_back({m.shape, m.dtype, clamp_efficiency(gemm_work(m).flops.count() / busy / unit_peak)});
  }
}

namespace {

// A measured attention efficiency with its launch tail of t blocks per SM
// taken out: eff x (B + t S) / B.
double without_tail(double blocks, double eff, double t, double sms) { return eff * (blocks + t * sms) / blocks; }

// The launch tail (AttentionTail) of one kernel and direction: the
// blocks_per_sm in [0, 8], to 0.01, that makes the efficiencies measured at
// one (sequence, head width) with different batch x heads agree best (least
// squared relative spread of eff x (B + t S) / B around each group's mean).
double fit_attention_tail(const std::map<std::pair<std::int64_t, std::int64_t>,
                                         std::vector<std::pair<double, double>>>& groups,
                          double sms) {
  double best_t = 0.0, best_sse = -1.0;
  for (int step = 0; step <= 800; ++step) {
    const double t = step / 100.0;
    double sse = 0.0;
    for (const auto& [key, v] : groups) {
      if (v.size() < 2) continue;
      double mean = 0.0;
      for (const auto& [blocks, e] : v) mean += without_tail(blocks, e, t, sms);
      mean /= static_cast<double>(v.size());
      for (const auto& [blocks, e] : v) {
        const double d = (without_tail(blocks, e, t, sms) - mean) / mean;
        sse += d * d;
      }
    }
    if (best_sse < 0.0 || sse < best_sse - 1e-12) {
      best_sse = sse;
      best_t = t;
    }
  }
  return best_t;
}

}  // namespace

void fit_attention(const Records& r, const GpuSpec& gpu, Calibration& cal) {
  const Duration overhead = cal.params(OpClass::kAttention).kernel_overhead;
  const double peak = peak_bf16(gpu);
  const double sms = static_cast<double>(std::max(gpu.sm_count, 1));
  // Per (kernel, direction): per (seq, head_dim), each shape's (thread
  // blocks, efficiency), from which the launch tail is fitted; the table then
  // holds the mean over the shapes (MHA, GQA, batch x heads) of the
  // efficiency with the tail taken out.
  using Groups = std::map<std::pair<std::int64_t, std::int64_t>, std::vector<std::pair<double, double>>>;
  std::map<std::pair<AttentionKernel, bool>, Groups> eff;
  for (const auto& [key, pair] : pair_attention(r.attention)) {
    if (pair.forward == nullptr) continue;
    const double fwd_busy = (pair.forward->time - overhead).seconds();
    if (fwd_busy <= 0.0) continue;
    const auto [kernel, seq, head_dim, heads, kv, batch] = key;
    const double blocks = static_cast<double>(std::max<std::int64_t>(attention_blocks(pair.forward->shape), 1));
    eff[{kernel, false}][{seq, head_dim}].push_back({blocks, pair.forward->flops.count() / fwd_busy / peak});
    if (pair.forward_backward == nullptr) continue;
    const double bwd_busy = (pair.forward_backward->time - pair.forward->time - overhead).seconds();
    const double bwd_flops = pair.forward_backward->flops.count() - pair.forward->flops.count();
    if (bwd_busy > 0.0 && bwd_flops > 0.0) {
      eff[{kernel, true}][{seq, head_dim}].push_back({blocks, bwd_flops / bwd_busy / peak});
    }
  }
  if (eff.empty()) return;
  cal.attention_samples.clear();
  cal.attention_tails.clear();
  std::vector<double> all;
  for (const auto& [kd, groups] : eff) {
    const auto [kernel, backward] = kd;
    const double t = fit_attention_tail(groups, sms);
    if (t > 0.0) cal.attention_tails.push_back({kernel, backward, t});
    for (const auto& [sh, v] : groups) {
      double mean = 0.0, raw = 0.0;
      for (const auto& [blocks, e] : v) {
        mean += without_tail(blocks, e, t, sms);
        raw += e;
      }
      mean /= static_cast<double>(v.size());
      cal.attention_samples.push_back({kernel, sh.first, sh.second, backward, clamp_efficiency(mean)});
      all.push_back(raw / static_cast<double>(v.size()));  // the class figure: as measured, tail included
    }
  }
  // attention_samples in (kernel, seq, head_dim, direction) order, as before.
  std::sort(cal.attention_samples.begin(), cal.attention_samples.end(),
            [](const AttentionSample& a, const AttentionSample& b) {
              return std::tie(a.kernel, a.seq, a.head_dim, a.backward) < std::tie(b.kernel, b.seq, b.head_dim, b.backward);
            });
  cal.params(OpClass::kAttention).compute_efficiency = clamp_efficiency(median(all));
}

// time = kernels x t0 + bytes x c per class, rows weighted by 1 / time
// (relative error). Where a class has records in bf16 and in another named
// type, bf16 bytes get their own c (a third column): fused AdamW does fp32
// arithmetic either way, so its bf16 form is not twice as fast per byte as
// its fp32 form (H100: 6.2 against 10.7 ps a parameter at 2^30). The
// optimizer's rows are weighted equally instead (absolute error): it steps
// over every parameter of a rank, 10^8 to 10^10 in the runs predicted, and
// its kernel count grows with the bytes, so t0 and c are nearly collinear;
// weighted by 1 / time, the 16M record alone moved the H100 bf16 rate at
// 2^30 by 7%, where equal weights reproduce 64M-1G within 1-2% on H100 and
// H200 (and 16M within 5-19%).
void fit_memory_bound(const Records& r, const GpuSpec& gpu, Calibration& cal) {
  std::map<OpClass, std::vector<const MemoryBoundMeasurement*>> by_class;
  for (const MemoryBoundMeasurement& m : r.memory_bound) {
    if (m.time.seconds() > 0.0 && m.bytes > Bytes(0)) by_class[m.op_class].push_back(&m);
  }
  const double hbm = gpu.memory_bandwidth.bytes_per_second();
  const auto is_bf16 = [](const MemoryBoundMeasurement* m) { return m->dtype == DType::kBf16; };
  const auto is_other_named = [](const MemoryBoundMeasurement* m) { return m->dtype && *m->dtype != DType::kBf16; };
  for (const auto& [op_class, v] : by_class) {
    const bool split = std::any_of(v.begin(), v.end(), is_bf16) && std::any_of(v.begin(), v.end(), is_other_named);
    const Eigen::Index cols = split ? 3 : 2;
    Eigen::MatrixXd a = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(v.size()), cols);
    Eigen::VectorXd y(static_cast<Eigen::Index>(v.size()));
    const bool absolute = op_class == OpClass::kOptimizer;
    const double longest = (*std::max_element(v.begin(), v.end(), [](const auto* x, const auto* z) {
                             return x->time < z->time;
                           }))->time.seconds();
    for (std::size_t i = 0; i < v.size(); ++i) {
      const auto row = static_cast<Eigen::Index>(i);
      const double w = 1.0 / (absolute ? longest : v[i]->time.seconds());
      a(row, 0) = static_cast<double>(v[i]->kernels) * w;
      a(row, split && is_bf16(v[i]) ? 2 : 1) = v[i]->bytes.as_double() * w;
      y(row) = v[i]->time.seconds() * w;
    }
    Eigen::VectorXd x = a.colPivHouseholderQr().solve(y);
    if (x(0) < 0.0) {  // no visible floor: bandwidth only
      x(0) = 0.0;
      for (Eigen::Index c = 1; c < cols; ++c) x(c) = y.dot(a.col(c)) / a.col(c).squaredNorm();
    }
    if (x(1) <= 0.0 || (split && x(2) <= 0.0)) continue;
    OpClassParams& p = cal.params(op_class);
    p.kernel_overhead = seconds_to_duration(x(0));
    p.memory_efficiency = clamp_efficiency(1.0 / (x(1) * hbm));
    p.bf16_memory_efficiency.reset();
    if (split) p.bf16_memory_efficiency = clamp_efficiency(1.0 / (x(2) * hbm));
  }
  // Embedding kernels (gather / scatter-add) are not measured, nor row
  // scatter-adds in profiles older than the "scatter" suite: the elementwise fit.
  // The loss's fp32 log-softmax, in profiles without the "loss" suite: the
  // elementwise fit, since with every pass over the row counted it streams
  // like one (on H100 5.3-5.6 ps per logit measured, 5.3 from the elementwise
  // fit); the bf16 softmax over rows of 4,096 runs at a third of that.
  const auto fall_back = [&](OpClass c, OpClass from) {
    if (by_class.count(from) != 0 && by_class.count(c) == 0) {
      const OpClassParams& e = cal.params(from);
      cal.params(c).memory_efficiency = e.memory_efficiency;
      cal.params(c).kernel_overhead = e.kernel_overhead;
    }
  };
  fall_back(OpClass::kEmbedding, OpClass::kElementwise);
  fall_back(OpClass::kScatterAdd, OpClass::kElementwise);
  fall_back(OpClass::kLogSoftmax, OpClass::kElementwise);
}

namespace {
std::string dtype_group(DType t) { return std::string("gemm ") + std::string(to_string(t)); }
}  // namespace

void gemm_residuals(const Records& r, const GpuSpec& gpu, const Calibration& cal, std::vector<FitResidual>& out) {
  const OpCostModel fitted(gpu, cal);
  // Held out: a table of every other record (by FLOPs) predicts the rest.
  std::vector<const GemmMeasurement*> sorted;
  for (const GemmMeasurement& m : r.gemm) sorted.push_back(&m);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto* a, const auto* b) { return gemm_work(*a).flops < gemm_work(*b).flops; });
  Calibration half = cal;
  half.gemm_samples.clear();
  for (std::size_t i = 0; i < sorted.size(); i += 2) {
    for (const GemmSample& s : cal.gemm_samples) {
      const GemmShape& a = s.shape;
      const GemmShape& b = sorted[i]->shape;
      if (s.dtype == sorted[i]->dtype && a.m == b.m && a.n == b.n && a.k == b.k && a.batch == b.batch) {
        half.gemm_samples.push_back(s);
        break;
      }
    }
  }
  const OpCostModel held(gpu, half);
  Calibration no_table = cal;
  no_table.gemm_samples.clear();
  const OpCostModel parametric(gpu, no_table);
  for (const DType t : {DType::kBf16, DType::kFp8}) {
    ResidualAccumulator in(dtype_group(t), "in_sample"), out_half(dtype_group(t), "held_out"),
        param(dtype_group(t) + " (parametric only)", "in_sample");
    for (std::size_t i = 0; i < sorted.size(); ++i) {
      const GemmMeasurement& m = *sorted[i];
      if (m.dtype != t) continue;
      const ComputeWork w = gemm_work(m);
      in.add(fitted.duration(w).seconds(), m.time.seconds());
      param.add(parametric.duration(w).seconds(), m.time.seconds());
      if (i % 2 == 1) out_half.add(held.duration(w).seconds(), m.time.seconds());
    }
    in.emit(out);
    param.emit(out);
    out_half.emit(out);
  }
}

void attention_residuals(const Records& r, const GpuSpec& gpu, const Calibration& cal, std::vector<FitResidual>& out) {
  if (cal.attention_samples.empty()) return;
  const OpCostModel fitted(gpu, cal);
  // Held out: every other measured sequence length of each kernel and head width.
  using SeqKey = std::tuple<AttentionKernel, std::int64_t, std::int64_t>;  // kernel, head_dim, seq
  std::map<std::pair<AttentionKernel, std::int64_t>, std::vector<std::int64_t>> seqs;
  for (const AttentionSample& s : cal.attention_samples) {
    if (!s.backward) seqs[{s.kernel, s.head_dim}].push_back(s.seq);
  }
  std::map<SeqKey, bool> kept;  // in the half table
  for (auto& [key, v] : seqs) {
    std::sort(v.begin(), v.end());
    for (std::size_t i = 0; i < v.size(); ++i) kept[{key.first, key.second, v[i]}] = i % 2 == 0;
  }
  Calibration half = cal;
  half.attention_samples.clear();
  for (const AttentionSample& s : cal.attention_samples) {
    if (kept[{s.kernel, s.head_dim, s.seq}]) half.attention_samples.push_back(s);
  }
  const OpCostModel held(gpu, half);
  std::map<std::string, ResidualAccumulator> acc;
  const auto add = [&](const std::string& group, const std::string& kind, double predicted, double measured) {
    acc.try_emplace(group + "|" + kind, group, kind).first->second.add(predicted, measured);
  };
  for (const auto& [key, pair] : pair_attention(r.attention)) {
    if (pair.forward == nullptr) continue;
    const AttentionShape& s = pair.forward->shape;
    const std::string name = "attention " + std::string(to_string(s.kernel));
    const ComputeWork f = attention_work(s, false, pair.forward->flops);
    const ComputeWork b = attention_work(s, true, pair.forward->flops);
    const bool is_held = !kept[{s.kernel, s.head_dim, s.seq_q}];
    add(name + " fwd", "in_sample", fitted.duration(f).seconds(), pair.forward->time.seconds());
    if (is_held) add(name + " fwd", "held_out", held.duration(f).seconds(), pair.forward->time.seconds());
    if (pair.forward_backward != nullptr) {
      const double measured = pair.forward_backward->time.seconds();
      add(name + " fwd+bwd", "in_sample", (fitted.duration(f) + fitted.duration(b)).seconds(), measured);
      if (is_held) add(name + " fwd+bwd", "held_out", (held.duration(f) + held.duration(b)).seconds(), measured);
    }
  }
  for (const auto& [k, a] : acc) a.emit(out);
}

void memory_bound_residuals(const Records& r, const GpuSpec& gpu, const Calibration& cal,
                            std::vector<FitResidual>& out) {
  const OpCostModel fitted(gpu, cal);
  std::map<std::string, ResidualAccumulator> by_op;
  for (const MemoryBoundMeasurement& m : r.memory_bound) {
    ComputeWork w;
    w.op_class = m.op_class;
    w.dtype = m.dtype.value_or(DType::kFp32);  // unnamed: the general bandwidth, as the fit counts it
    w.bytes_read = m.bytes;
    w.kernels = m.kernels;
    auto it = by_op.try_emplace(m.op, m.op + " (" + std::string(to_string(m.op_class)) + ")", "in_sample").first;
    it->second.add(fitted.duration(w).seconds(), m.time.seconds());
  }
  for (const auto& [op, acc] : by_op) acc.emit(out);
}

}  // namespace dtsim::hardware::fit
