// Reading hardware/calibration/bench/run_all.py's profiles
// (calibration_io.hpp states what is kept and what is left out).
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "dtsim/scenarios/calibration_io.hpp"
#include "json_reader.hpp"
#include "record_reader.hpp"

namespace dtsim::scenarios {

namespace {

using detail::child_path;
using detail::describe;
using detail::Diagnostics;
using detail::Json;
using detail::RecordReader;

// The records of one suite, or nullptr when the profile does not have it.
const Json* suite_results(const Json& doc, std::string_view suite, Diagnostics& d) {
  const auto suites = doc.find("suites");
  if (suites == doc.end() || !suites->is_object()) return nullptr;
  const auto s = suites->find(std::string(suite));
  if (s == suites->end()) return nullptr;
  const std::string path = "/suites/" + std::string(suite) + "/results";
  const auto results = s->find("results");
  if (results == s->end() || !results->is_array()) {
    d.add(path, "expected an array of measurements");
    return nullptr;
  }
  return &*results;
}

template <typename Fn>
void each_record(const Json& doc, std::string_view suite, Diagnostics& d, Fn fn) {
  const Json* results = suite_results(doc, suite, d);
  if (results == nullptr) return;
  for (std::size_t i = 0; i < results->size(); ++i) {
    const Json& rec = (*results)[i];
    const std::string path = child_path("/suites/" + std::string(suite) + "/results", i);
    if (!rec.is_object()) {
      d.add(path, "expected an object, got " + describe(rec));
      continue;
    }
    if (rec.contains("error")) continue;  // a measurement the profile marks as failed
    RecordReader r(rec, path, d);
    fn(r);
  }
}

// The record's `key` as one of two spellings of a data type; otherwise a
// problem naming both, and nothing.
std::optional<DType> read_dtype(RecordReader& r, std::string_view key, std::pair<std::string_view, DType> a,
                                std::pair<std::string_view, DType> b) {
  const std::string name = r.text(key);
  if (name == a.first) return a.second;
  if (name == b.first) return b.second;
  r.problem(key, "expected \"" + std::string(a.first) + "\" or \"" + std::string(b.first) + "\", got \"" + name + "\"");
  return std::nullopt;
}

void read_gemm(const Json& doc, hardware::MicrobenchProfile& p, Diagnostics& d) {
  each_record(doc, "gemm", d, [&](RecordReader& r) {
    hardware::GemmMeasurement m;
    const auto dtype = read_dtype(r, "dtype", {"bf16", DType::kBf16}, {"fp8_e4m3", DType::kFp8});
    if (!dtype) return;
    m.dtype = *dtype;
    m.shape.m = r.integer("M");
    m.shape.n = r.integer("N");
    m.shape.k = r.integer("K");
    m.time = r.seconds("time_s");
    p.gemm.push_back(m);
  });
}

void read_attention(const Json& doc, hardware::MicrobenchProfile& p, Diagnostics& d) {
  each_record(doc, "attention", d, [&](RecordReader& r) {
    const std::string backend = r.text("backend");
    if (r.text("gqa_impl") == "repeat_interleave") return;  // includes the copies of K and V
    hardware::AttentionMeasurement m;
    if (backend == "flash") {
      m.shape.kernel = AttentionKernel::kFlash2;
    } else if (backend == "cudnn") {
      m.shape.kernel = AttentionKernel::kCudnn;
    } else {
      r.problem("backend", "expected \"flash\" or \"cudnn\", got \"" + backend + "\"");
      return;
    }
    m.shape.batch = r.integer("batch");
    m.shape.seq_q = m.shape.seq_kv = r.integer("seq");
    m.shape.heads = r.integer("heads");
    m.shape.kv_heads = r.integer("kv_heads");
    m.shape.head_dim = r.integer("head_dim");
    m.shape.causal = true;
    const std::string phase = r.text("phase");
    if (phase != "fwd" && phase != "fwd_bwd") {
      r.problem("phase", "expected \"fwd\" or \"fwd_bwd\", got \"" + phase + "\"");
      return;
    }
    m.shape.backward = phase == "fwd_bwd";
    m.flops = Flops(r.positive("flops"));
    m.time = r.seconds("time_s");
    p.attention.push_back(m);
  });
}

std::optional<OpClass> memory_bound_class(const std::string& op) {
  if (op == "copy_d2d") return OpClass::kMemcpy;
  if (op == "add" || op == "gelu_tanh" || op == "silu_mul") return OpClass::kElementwise;
  if (op == "rmsnorm" || op == "layernorm") return OpClass::kNormalization;
  if (op == "softmax" || op == "cross_entropy") return OpClass::kSoftmax;
  if (op == "cast_bf16_to_fp32" || op == "cast_fp32_to_bf16") return OpClass::kCast;
  if (op == "index_add") return OpClass::kScatterAdd;
  return std::nullopt;
}

void read_memory_bound_suite(const Json& doc, std::string_view suite, hardware::MicrobenchProfile& p,
                             Diagnostics& d) {
  each_record(doc, suite, d, [&](RecordReader& r) {
    const std::string kind = r.text("kind");
    const std::string op = r.text("op");
    hardware::MemoryBoundMeasurement m;
    m.op = op;
    m.bytes = Bytes(r.integer("bytes_read") + r.integer("bytes_written"));
    m.time = r.seconds("time_s");
    if (kind == "optimizer") {
      if (r.text("impl") != "fused") return;  // foreach is a slower framework path, not the fused kernel
      m.dtype = read_dtype(r, "param_dtype", {"fp32", DType::kFp32}, {"bf16", DType::kBf16});
      if (!m.dtype) return;
      m.op = "adamw_fused " + std::string(to_string(*m.dtype));
      m.eager_timed = r.text("timing_mode") == "eager";
      m.op_class = OpClass::kOptimizer;
      constexpr std::int64_t kChunk = 320 * 65536;  // multi_tensor_apply's launch granularity
      m.kernels = static_cast<std::int32_t>((r.integer("n_params") + kChunk - 1) / kChunk);
    } else if (kind == "membound") {
      const auto c = memory_bound_class(op);
      if (!c) {
        r.problem("op", "unknown memory-bound op \"" + op + "\" (no op class to fit it to)");
        return;
      }
      m.op_class = *c;
      // A scatter-add is bound by its atomic adds, one per source element:
      // its bytes are the source rows' (work.hpp), not the ideal traffic.
      if (m.op_class == OpClass::kScatterAdd) m.bytes = Bytes(2 * r.integer("n_elems"));
      const bool both = r.text("phase") == "fwd_bwd";
      m.op += both ? " fwd+bwd" : " fwd";
      // Absent or null: the bench did not count them; 1 is assumed.
      const std::int64_t forward = std::max<std::int64_t>(r.optional_integer("n_kernels_eager").value_or(1), 1);
      m.kernels = static_cast<std::int32_t>(both ? 2 * forward : forward);
    } else {
      r.problem("kind", "expected \"membound\" or \"optimizer\", got \"" + kind + "\"");
      return;
    }
    p.memory_bound.push_back(m);
  });
}

// bench_loss.py's eager loss: PyTorch's fp32 log-softmax kernels, one each
// (OpClass::kLogSoftmax), with every pass over the row counted: forward reads
// the logits three times and writes once, backward reads the gradient twice
// and the output once and writes once (16 bytes per logit either way, as the
// model's eager loss steps count them).
void read_loss_suite(const Json& doc, hardware::MicrobenchProfile& p, Diagnostics& d) {
  each_record(doc, "loss", d, [&](RecordReader& r) {
    const std::string kind = r.text("kind");
    if (kind != "eager_loss") {
      r.problem("kind", "expected \"eager_loss\", got \"" + kind + "\"");
      return;
    }
    constexpr std::int64_t kBytesPerLogit = 16;
    const std::int64_t logits = r.integer("n_logits", 1);
    for (const auto& [key, label] : {std::pair{"log_softmax_fwd_s", " fwd"}, std::pair{"log_softmax_bwd_s", " bwd"}}) {
      hardware::MemoryBoundMeasurement m;
      m.op = std::string("log_softmax_fp32") + label;
      m.op_class = OpClass::kLogSoftmax;
      m.bytes = Bytes(logits * kBytesPerLogit);
      m.time = r.seconds(key);
      m.kernels = 1;
      p.memory_bound.push_back(m);
    }
  });
}

void read_launch(const Json& doc, hardware::MicrobenchProfile& p, Diagnostics& d) {
  each_record(doc, "overhead", d, [&](RecordReader& r) {
    hardware::LaunchMeasurement m;
    m.op = r.text("op");
    // One launch plus a synchronize on an idle GPU: a round trip, not a launch cost.
    if (m.op == "launch_plus_synchronize_roundtrip") return;
    m.host_enqueue = r.seconds("eager_host_enqueue_s");
    m.graph_gpu = r.seconds("graph_gpu_s");
    p.launch.push_back(m);
  });
}

// The "gap" suite: kernels timed back to back, launched eagerly and from a
// CUDA graph (the eager launch gap).
void read_eager_gap(const Json& doc, hardware::MicrobenchProfile& p, Diagnostics& d) {
  each_record(doc, "gap", d, [&](RecordReader& r) {
    if (const std::string kind = r.text("kind"); kind != "eager_gap") {
      r.problem("kind", "expected \"eager_gap\", got \"" + kind + "\"");
      return;
    }
    p.eager_gap.push_back({r.text("op"), r.seconds("eager_gpu_s"), r.seconds("graph_gpu_s")});
  });
}

std::optional<CollectiveKind> collective_kind(const std::string& op) {
  if (op == "all_reduce") return CollectiveKind::kAllReduce;
  if (op == "all_gather_into_tensor") return CollectiveKind::kAllGather;
  if (op == "reduce_scatter_tensor") return CollectiveKind::kReduceScatter;
  if (op == "all_to_all_single") return CollectiveKind::kAllToAll;
  if (op == "broadcast") return CollectiveKind::kBroadcast;
  if (op == "send_recv") return CollectiveKind::kSendRecv;
  return std::nullopt;
}

void read_collectives(const Json& doc, hardware::MicrobenchProfile& p, Diagnostics& d) {
  each_record(doc, "collectives", d, [&](RecordReader& r) {
    const std::string op = r.text("op");
    const auto kind = collective_kind(op);
    if (!kind) {
      r.problem("op", "unknown collective \"" + op + "\"");
      return;
    }
    hardware::CollectiveMeasurement m;
    m.kind = *kind;
    m.group_size = static_cast<int>(r.integer("group_size"));
    m.bytes = Bytes(r.integer("size_bytes"));
    m.time = r.seconds("time_s");
    if (r.has("host_bound_time_s")) m.host_bound_time = r.seconds("host_bound_time_s");
    p.collectives.push_back(m);
  });
}

// bench_framework.py's records, one list per torchrun size.
void read_framework(const Json& doc, hardware::MicrobenchProfile& p, Diagnostics& d) {
  const auto runs = doc.find("runs");
  if (runs == doc.end() || !runs->is_array()) {
    d.add("/runs", "missing; expected the framework benchmark's runs");
    return;
  }
  for (std::size_t i = 0; i < runs->size(); ++i) {
    const Json& run = (*runs)[i];
    const auto results = run.find("results");
    const std::string path = child_path(child_path("/runs", i), "results");
    if (results == run.end() || !results->is_array()) {
      d.add(path, "expected an array of measurements");
      continue;
    }
    for (std::size_t j = 0; j < results->size(); ++j) {
      const Json& rec = (*results)[j];
      if (!rec.is_object()) {
        d.add(child_path(path, j), "expected an object, got " + describe(rec));
        continue;
      }
      if (rec.contains("error")) continue;
      RecordReader r(rec, child_path(path, j), d);
      const std::string kind = r.text("kind");
      if (kind == "dtensor_host") {
        p.dtensor.push_back({r.text("op"), static_cast<int>(r.integer("tp")), r.seconds("host_op_s"),
                             r.seconds("host_op_plain_s")});
      } else if (kind == "tp_layer_host") {
        p.layer_host.push_back({static_cast<int>(r.integer("tp")), r.boolean("sp"), r.seconds("host_layer_s"),
                                r.seconds("host_layer_plain_s")});
      } else if (kind == "moe_layer_host") {
        p.moe_layer_host.push_back({static_cast<int>(r.integer("experts")), static_cast<int>(r.integer("top_k")),
                                    static_cast<int>(r.integer("processes")), r.seconds("host_layer_s"),
                                    r.seconds("host_layer_plain_s")});
      } else if (kind == "eager_layer_host") {
        hardware::EagerLayerHostMeasurement m;
        m.arch = r.text("arch");
        m.precision = r.text("precision");
        m.processes = static_cast<int>(r.integer("processes"));
        m.layer = r.seconds("host_layer_s");
        if (m.arch != "llama" && m.arch != "gpt") r.problem("arch", "expected \"llama\" or \"gpt\", got \"" + m.arch + "\"");
        if (m.precision != "bf16" && m.precision != "amp_bf16") {
          r.problem("precision", "expected \"bf16\" or \"amp_bf16\", got \"" + m.precision + "\"");
        }
        if (r.has("host_forward_s")) m.forward = r.seconds("host_forward_s");  // from session 11 on
        if (r.has("recompute")) {  // absent before session 10: no recompute
          m.recompute = r.text("recompute");
          if (m.recompute != "none" && m.recompute != "full") {
            r.problem("recompute", "expected \"none\" or \"full\", got \"" + m.recompute + "\"");
          }
        }
        p.eager_layer_host.push_back(std::move(m));
      } else if (kind == "wrapper_host") {
        hardware::WrapperHostMeasurement m{r.text("wrapper"), r.text("precision"), r.text("plain_precision"),
                                           static_cast<int>(r.integer("processes")), r.seconds("host_layer_s"),
                                           r.seconds("host_layer_plain_s")};
        if (m.wrapper != "ddp" && m.wrapper != "fsdp2_reshard" && m.wrapper != "fsdp2_noreshard") {
          r.problem("wrapper", "expected \"ddp\", \"fsdp2_reshard\" or \"fsdp2_noreshard\", got \"" + m.wrapper + "\"");
        }
        if (m.precision != "bf16" && m.precision != "amp_bf16" && m.precision != "fsdp_mp_bf16") {
          r.problem("precision", "expected \"bf16\", \"amp_bf16\" or \"fsdp_mp_bf16\", got \"" + m.precision + "\"");
        }
        if (m.plain_precision != "bf16" && m.plain_precision != "amp_bf16") {
          r.problem("plain_precision", "expected \"bf16\" or \"amp_bf16\", got \"" + m.plain_precision + "\"");
        }
        p.wrapper_host.push_back(std::move(m));
      } else if (kind == "pipeline_host") {
        hardware::PipelineHostMeasurement m{r.text("schedule"), static_cast<int>(r.integer("microbatches")),
                                            r.seconds("host_step_s"), r.seconds("host_step_plain_s")};
        if (m.schedule != "gpipe" && m.schedule != "1f1b") {
          r.problem("schedule", "expected \"gpipe\" or \"1f1b\", got \"" + m.schedule + "\"");
        }
        p.pipeline_host.push_back(std::move(m));
      } else if (kind == "step_host") {
        hardware::StepHostMeasurement m;
        m.precision = r.text("precision");
        if (m.precision != "bf16" && m.precision != "amp_bf16") {
          r.problem("precision", "expected \"bf16\" or \"amp_bf16\", got \"" + m.precision + "\"");
        }
        if (const std::string arch = r.text("arch"); arch != "llama") {
          r.problem("arch", "expected \"llama\" (the benchmark's block), got \"" + arch + "\"");
        }
        const auto count = [&](const char* key) { return r.integer(key, 1); };
        m.layers = static_cast<int>(count("layers"));
        m.grad_accum = static_cast<int>(count("grad_accum"));
        m.micro_batch = static_cast<int>(count("micro_batch"));
        m.hidden = count("hidden");
        m.heads = count("n_heads");
        m.kv_heads = count("n_kv_heads");
        m.ffn_hidden = count("ffn_hidden");
        m.vocab = count("vocab");
        m.seq_len = count("seq_len");
        m.tied = r.boolean("tied");
        m.step = r.seconds("host_step_s");
        m.layer = r.seconds("host_layer_s");
        p.step_host.push_back(std::move(m));
      } else if (kind == "overlap_slowdown") {
        hardware::OverlapMeasurement m;
        m.kernel = r.text("kernel");
        m.op_class = m.kernel.rfind("gemm", 0) == 0 ? OpClass::kGemm : OpClass::kMemcpy;
        m.world = static_cast<int>(r.integer("world"));
        m.alone = r.seconds("time_alone_s");
        m.with_collective = r.seconds("time_with_nccl_s");
        p.overlap.push_back(m);
      } else {
        r.problem("kind",
                  "expected \"dtensor_host\", \"tp_layer_host\", \"moe_layer_host\", \"eager_layer_host\", "
                  "\"wrapper_host\", \"pipeline_host\", \"step_host\" or \"overlap_slowdown\", got \"" + kind + "\"");
      }
    }
  }
}

std::string system_text(const Json& doc, std::string_view key) {
  const auto s = doc.find("system");
  if (s == doc.end() || !s->is_object()) return {};
  const auto v = s->find(std::string(key));
  return v != s->end() && v->is_string() ? v->get<std::string>() : std::string();
}

}  // namespace

hardware::MicrobenchProfile read_microbench_profile(std::string_view json_text, std::string origin) {
  const Json doc = detail::parse_json_document(json_text);
  if (!doc.is_object()) throw InputError("", "expected a microbenchmark profile object, got " + describe(doc));
  Diagnostics d;
  const auto kind = doc.find("kind");
  const std::string kind_text = kind != doc.end() && kind->is_string() ? kind->get<std::string>() : std::string();
  if (kind_text != "dtsim-microbench-profile" && kind_text != "dtsim-framework-profile") {
    throw InputError("/kind",
                     "expected \"dtsim-microbench-profile\" (hardware/calibration/bench/run_all.py) or "
                     "\"dtsim-framework-profile\" (bench_framework.py), got " +
                         (kind == doc.end() ? std::string("nothing") : describe(*kind)));
  }
  hardware::MicrobenchProfile p;
  p.origin = std::move(origin);
  if (const auto tag = doc.find("machine_tag"); tag != doc.end() && tag->is_string()) p.machine = tag->get<std::string>();
  p.gpu_name = system_text(doc, "gpu_name");
  for (const auto& [key, label] : {std::pair{"driver_version", "driver "}, std::pair{"cuda_version_torch", "CUDA "},
                                   std::pair{"nccl_version", "NCCL "}, std::pair{"torch_version", "PyTorch "}}) {
    const std::string v = system_text(doc, key);
    if (v.empty()) continue;
    if (!p.versions.empty()) p.versions += ", ";
    p.versions += label;
    p.versions += v;
  }
  if (kind_text == "dtsim-framework-profile") {
    read_framework(doc, p, d);
  } else {
    read_gemm(doc, p, d);
    read_attention(doc, p, d);
    read_memory_bound_suite(doc, "membound", p, d);
    read_memory_bound_suite(doc, "scatter", p, d);
    read_loss_suite(doc, p, d);
    read_launch(doc, p, d);
    read_eager_gap(doc, p, d);
    read_collectives(doc, p, d);
  }
  d.throw_if_any();
  return p;
}

}  // namespace dtsim::scenarios
