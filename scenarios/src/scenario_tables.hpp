// The scenario format's parameter tables (private to scenarios/): every key of
// every section, declared once with its type, bounds, default, description and
// the line that stores it. The loader reads with these, parameters.cpp turns
// them into the public Section list (dtsim describe, docs/scenario-format.md).
//
// Bounds are generous for real systems and keep every derived quantity
// (activation bytes, parameter counts, world size) inside int64 and int.
#pragma once

#include <array>

#include "dtsim/hardware/cluster_spec.hpp"
#include "dtsim/hardware/collective_plan.hpp"
#include "dtsim/models/model_spec.hpp"
#include "dtsim/models/parallel_plan.hpp"
#include "dtsim/models/training_spec.hpp"
#include "dtsim/scenarios/cost.hpp"
#include "dtsim/scenarios/scenario.hpp"
#include "dtsim/scenarios/sweep.hpp"
#include "dtsim/sim/simulation.hpp"
#include "field_reader.hpp"

namespace dtsim::scenarios::detail {

template <typename E>
constexpr int as_int(E e) {
  return static_cast<int>(e);
}

// ---- choices ---------------------------------------------------------------

inline constexpr NamedValue kMlpChoices[] = {{"gelu", as_int(models::MlpKind::kGelu)},
                                             {"swiglu", as_int(models::MlpKind::kSwiGlu)}};
inline constexpr NamedValue kNormChoices[] = {{"layernorm", as_int(models::NormKind::kLayerNorm)},
                                              {"rmsnorm", as_int(models::NormKind::kRmsNorm)}};
inline constexpr NamedValue kPositionChoices[] = {{"learned", as_int(models::PositionKind::kLearned)},
                                                  {"rotary", as_int(models::PositionKind::kRotary)}};
inline constexpr NamedValue kAttentionChoices[] = {{"mha", as_int(models::AttentionKind::kMha)},
                                                   {"mla", as_int(models::AttentionKind::kMla)}};
inline constexpr NamedValue kGateChoices[] = {{"softmax", as_int(models::GateKind::kSoftmax)},
                                              {"sigmoid", as_int(models::GateKind::kSigmoid)}};
inline constexpr NamedValue kPrecisionChoices[] = {
    {"megatron_bf16", as_int(models::PrecisionMode::kMegatronBf16)},
    {"amp_bf16", as_int(models::PrecisionMode::kAmpBf16)},
    {"pure_bf16", as_int(models::PrecisionMode::kPureBf16)},
    {"fsdp_mixed_bf16", as_int(models::PrecisionMode::kFsdpMixedBf16)}};
inline constexpr NamedValue kRecomputeChoices[] = {{"none", as_int(models::Recompute::kNone)},
                                                   {"selective", as_int(models::Recompute::kSelective)},
                                                   {"full", as_int(models::Recompute::kFull)}};
inline constexpr NamedValue kRecomputeModuleChoices[] = {
    {"core_attn", as_int(models::RecomputeModule::kCoreAttention)},
    {"layernorm", as_int(models::RecomputeModule::kLayerNorm)},
    {"mla_up_proj", as_int(models::RecomputeModule::kMlaUpProjection)},
    {"moe_act", as_int(models::RecomputeModule::kMoeActivation)},
    {"mlp", as_int(models::RecomputeModule::kMlp)},
    {"shared_experts", as_int(models::RecomputeModule::kSharedExperts)}};
inline constexpr NamedValue kFrameworkChoices[] = {{"megatron", as_int(models::Framework::kMegatron)},
                                                   {"pytorch-eager", as_int(models::Framework::kPyTorchEager)},
                                                   {"pytorch-compile", as_int(models::Framework::kPyTorchCompile)}};
inline constexpr NamedValue kOptimizerChoices[] = {{"adamw_fused", as_int(models::OptimizerImpl::kFused)},
                                                   {"adamw_foreach", as_int(models::OptimizerImpl::kForeach)}};
inline constexpr NamedValue kScheduleChoices[] = {
    {"gpipe", as_int(models::PipelineSchedule::kGPipe)},
    {"1f1b", as_int(models::PipelineSchedule::kOneFOneB)},
    {"interleaved-1f1b", as_int(models::PipelineSchedule::kInterleavedOneFOneB)},
    {"zb-h1", as_int(models::PipelineSchedule::kZeroBubbleH1)},
    {"dualpipe", as_int(models::PipelineSchedule::kDualPipe)}};
inline constexpr NamedValue kContextCommChoices[] = {{"ring", as_int(models::ContextComm::kRing)},
                                                     {"all-gather", as_int(models::ContextComm::kAllGather)}};
inline constexpr NamedValue kDimChoices[] = {{"tp", as_int(models::ParallelDim::kTensor)},
                                             {"dp", as_int(models::ParallelDim::kData)},
                                             {"pp", as_int(models::ParallelDim::kPipeline)}};
inline constexpr NamedValue kArchChoices[] = {{"generic", as_int(hardware::GpuArch::kGeneric)},
                                              {"ampere", as_int(hardware::GpuArch::kAmpere)},
                                              {"hopper", as_int(hardware::GpuArch::kHopper)},
                                              {"blackwell", as_int(hardware::GpuArch::kBlackwell)}};
inline constexpr NamedValue kFabricChoices[] = {{"infiniband", as_int(hardware::FabricKind::kInfiniBand)},
                                                {"roce", as_int(hardware::FabricKind::kRoce)}};
inline constexpr NamedValue kAlgorithmChoices[] = {
    {"auto", as_int(hardware::CollectiveAlgorithm::kAuto)},
    {"ring", as_int(hardware::CollectiveAlgorithm::kRing)},
    {"tree", as_int(hardware::CollectiveAlgorithm::kTree)},
    {"hierarchical", as_int(hardware::CollectiveAlgorithm::kHierarchical)},
    {"direct", as_int(hardware::CollectiveAlgorithm::kDirect)}};

// The scenario's name for an enumerator (reports speak the scenario's language).
template <std::size_t N, typename E>
constexpr std::string_view name_of(const NamedValue (&choices)[N], E value) {
  for (const NamedValue& c : choices) {
    if (c.value == as_int(value)) return c.name;
  }
  return "?";
}

// ---- bounds ------------------------------------------------------------------

inline constexpr double kMaxLayers = 4096;
inline constexpr double kMaxHidden = 262144;         // 2^18
inline constexpr double kMaxHeads = 16384;           // 2^14
inline constexpr double kMaxHeadDim = 2048;
inline constexpr double kMaxFfn = 1048576;           // 2^20
inline constexpr double kMaxVocab = 16777216;        // 2^24
inline constexpr double kMaxSeq = 16777216;          // 2^24 tokens
inline constexpr double kMaxBatch = 16777216;        // sequences per step
inline constexpr double kMaxMicroBatch = 65536;
inline constexpr double kMaxModelParallel = 4096;    // tp, pp
inline constexpr double kMaxDataParallel = 1048576;  // dp
inline constexpr double kMaxNodes = 1048576;
inline constexpr double kMaxGpusPerNode = 1024;
inline constexpr double kMaxSms = 65536;

// ---- top level -----------------------------------------------------------------

inline constexpr std::array<Field<Scenario>, 11> kScenarioFields{{
    {{.key = "schema_version", .type = ValueType::kInteger, .presence = Presence::kRequired,
      .description = "Version of this format; must be 1.", .min = 1, .max = 1},
     // Checked by the table's bounds; the loader reads the number itself first.
     [](Scenario&, const Value&) {}},
    {{.key = "name", .type = ValueType::kString, .presence = Presence::kDerived,
      .default_value = "the file name without .json",
      .description = "Short name shown in reports and traces."},
     [](Scenario& s, const Value& v) { s.name = v.text; }},
    {{.key = "description", .type = ValueType::kString, .presence = Presence::kDefault, .default_value = "\"\"",
      .description = "Free text: what the scenario models and why its settings were chosen."},
     [](Scenario& s, const Value& v) { s.description = v.text; }},
    {{.key = "model", .type = ValueType::kNameOrObject, .presence = Presence::kRequired,
      .description = "A built-in model's name (`dtsim list models`), or an object (section `model`).",
      .section = "model"}},
    {{.key = "training", .type = ValueType::kObject, .presence = Presence::kRequired,
      .description = "Batch shape, precision and recompute (section `training`).", .section = "training"}},
    {{.key = "plan", .type = ValueType::kObject, .presence = Presence::kRequired,
      .description = "How the step is split over GPUs (section `plan`).", .section = "plan"}},
    {{.key = "cluster", .type = ValueType::kObject, .presence = Presence::kRequired,
      .description = "Nodes, GPUs and fabric (section `cluster`).", .section = "cluster"}},
    {{.key = "calibration", .type = ValueType::kString, .presence = Presence::kDefault,
      .default_value = "\"datasheet-defaults\"",
      .description = "Cost-model calibration: \"datasheet-defaults\" (efficiencies and latencies derived from "
                     "datasheets and published measurements for the cluster's GPU), the name of a fitted "
                     "calibration (`dtsim calibrate`; hardware/calibration/fitted/NAME.json, e.g. \"h200-x4\"), "
                     "or a path to a calibration file (relative to the scenario file). A fitted calibration must "
                     "have been measured on the cluster's GPU (docs/calibration.md)."}},
    {{.key = "simulation", .type = ValueType::kObject, .presence = Presence::kDefault, .default_value = "{}",
      .description = "How the replay runs (section `simulation`).", .section = "simulation"}},
    {{.key = "cost", .type = ValueType::kObject, .presence = Presence::kDerived,
      .default_value = "none: no time-to-train, energy or cost figures",
      .description = "Tokens to train, price and power, for time to train, GPU-hours, energy and cost "
                     "(section `cost`).",
      .section = "cost"}},
    {{.key = "sweep", .type = ValueType::kObject, .presence = Presence::kDerived,
      .default_value = "none: one scenario",
      .description = "Fields to vary for `dtsim sweep` and `dtsim check` (section `sweep`, docs/sweeps.md). "
                     "`dtsim run` and `dtsim validate` read the scenario as written, without its sweep.",
      .section = "sweep"}},
}};

// ---- model -----------------------------------------------------------------------

inline constexpr std::array<Field<models::ModelSpec>, 35> kModelFields{{
    {{.key = "base", .type = ValueType::kString, .presence = Presence::kDerived,
      .default_value = "none: a custom model",
      .description = "Built-in model to start from; every key left out keeps its value."}},
    {{.key = "name", .type = ValueType::kString, .presence = Presence::kDerived,
      .default_value = "base name (+ \" (modified)\" with overrides), or \"custom\"",
      .description = "Name shown in reports."},
     [](models::ModelSpec& m, const Value& v) { m.name = v.text; }},
    {{.key = "num_layers", .type = ValueType::kInteger, .presence = Presence::kRequired,
      .description = "Decoder layers.", .min = 1, .max = kMaxLayers},
     [](models::ModelSpec& m, const Value& v) { m.num_layers = v.integer; }},
    {{.key = "hidden", .type = ValueType::kInteger, .presence = Presence::kRequired,
      .description = "Hidden (residual stream) width h.", .min = 1, .max = kMaxHidden},
     [](models::ModelSpec& m, const Value& v) { m.hidden = v.integer; }},
    {{.key = "num_heads", .type = ValueType::kInteger, .presence = Presence::kRequired,
      .description = "Attention (query) heads.", .min = 1, .max = kMaxHeads},
     [](models::ModelSpec& m, const Value& v) { m.num_heads = v.integer; }},
    {{.key = "num_kv_heads", .type = ValueType::kInteger, .presence = Presence::kDerived,
      .default_value = "num_heads (multi-head attention)",
      .description = "Key/value heads; fewer than num_heads is grouped-query attention. Must divide num_heads.",
      .min = 1, .max = kMaxHeads},
     [](models::ModelSpec& m, const Value& v) { m.num_kv_heads = v.integer; }},
    {{.key = "head_dim", .type = ValueType::kInteger, .presence = Presence::kDerived,
      .default_value = "hidden / num_heads; qk_nope_head_dim + qk_rope_head_dim with attention \"mla\"",
      .description = "Width of one attention head (its query and key; MLA: must be qk_nope_head_dim + "
                     "qk_rope_head_dim).",
      .min = 1,
      .max = kMaxHeadDim},
     [](models::ModelSpec& m, const Value& v) { m.head_dim = v.integer; }},
    {{.key = "ffn_hidden", .type = ValueType::kInteger, .presence = Presence::kRequired,
      .description = "MLP inner width (per matrix for SwiGLU).", .min = 1, .max = kMaxFfn},
     [](models::ModelSpec& m, const Value& v) { m.ffn_hidden = v.integer; }},
    {{.key = "vocab_size", .type = ValueType::kInteger, .presence = Presence::kRequired,
      .description = "Vocabulary size (tokens).", .min = 1, .max = kMaxVocab},
     [](models::ModelSpec& m, const Value& v) { m.vocab_size = v.integer; }},
    {{.key = "max_seq_len", .type = ValueType::kInteger, .presence = Presence::kDerived,
      .default_value = "training.seq_len",
      .description = "Positions the model supports (the learned position table's size).", .min = 1,
      .max = kMaxSeq},
     [](models::ModelSpec& m, const Value& v) { m.max_seq_len = v.integer; }},
    {{.key = "mlp", .type = ValueType::kChoice, .presence = Presence::kDefault, .default_value = "\"swiglu\"",
      .description = "MLP kind: gelu (two matrices) or swiglu (three).", .choices = kMlpChoices},
     [](models::ModelSpec& m, const Value& v) { m.mlp = static_cast<models::MlpKind>(v.choice); }},
    {{.key = "norm", .type = ValueType::kChoice, .presence = Presence::kDefault, .default_value = "\"rmsnorm\"",
      .description = "Normalization layers.", .choices = kNormChoices},
     [](models::ModelSpec& m, const Value& v) { m.norm = static_cast<models::NormKind>(v.choice); }},
    {{.key = "position", .type = ValueType::kChoice, .presence = Presence::kDefault, .default_value = "\"rotary\"",
      .description = "Position encoding.", .choices = kPositionChoices},
     [](models::ModelSpec& m, const Value& v) { m.position = static_cast<models::PositionKind>(v.choice); }},
    {{.key = "tied_embeddings", .type = ValueType::kBoolean, .presence = Presence::kDefault,
      .default_value = "false", .description = "Output projection shares the input embedding's weights."},
     [](models::ModelSpec& m, const Value& v) { m.tied_embeddings = v.boolean; }},
    {{.key = "linear_bias", .type = ValueType::kBoolean, .presence = Presence::kDefault, .default_value = "false",
      .description = "Linear layers carry biases (GPT) or not (Llama)."},
     [](models::ModelSpec& m, const Value& v) { m.linear_bias = v.boolean; }},
    {{.key = "dropout", .type = ValueType::kBoolean, .presence = Presence::kDefault, .default_value = "false",
      .description = "Hidden dropout after attention and MLP blocks (GPT-3 style); its masks are saved "
                     "activations."},
     [](models::ModelSpec& m, const Value& v) { m.dropout = v.boolean; }},
    {{.key = "attention", .type = ValueType::kChoice, .presence = Presence::kDefault, .default_value = "\"mha\"",
      .description = "mha: multi-head attention (grouped-query with fewer num_kv_heads); mla: DeepSeek's "
                     "multi-head latent attention (the five keys below; num_kv_heads = num_heads).",
      .choices = kAttentionChoices},
     [](models::ModelSpec& m, const Value& v) { m.attention = static_cast<models::AttentionKind>(v.choice); }},
    {{.key = "q_lora_rank", .type = ValueType::kInteger, .presence = Presence::kDefault, .default_value = "0",
      .description = "MLA: width of the compressed query (DeepSeek-V3: 1536); 0 projects queries directly.",
      .min = 0, .max = kMaxHidden},
     [](models::ModelSpec& m, const Value& v) { m.mla.q_lora_rank = v.integer; }},
    {{.key = "kv_lora_rank", .type = ValueType::kInteger, .presence = Presence::kDefault, .default_value = "0",
      .description = "MLA: width of the compressed key/value latent (DeepSeek-V3: 512); at least 1 with mla.",
      .min = 0, .max = kMaxHidden},
     [](models::ModelSpec& m, const Value& v) { m.mla.kv_lora_rank = v.integer; }},
    {{.key = "qk_nope_head_dim", .type = ValueType::kInteger, .presence = Presence::kDefault, .default_value = "0",
      .description = "MLA: per-head query/key width without rotary (DeepSeek-V3: 128).", .min = 0,
      .max = kMaxHeadDim},
     [](models::ModelSpec& m, const Value& v) { m.mla.qk_nope_head_dim = v.integer; }},
    {{.key = "qk_rope_head_dim", .type = ValueType::kInteger, .presence = Presence::kDefault, .default_value = "0",
      .description = "MLA: rotary query/key width per head; the rotary key is shared by all heads (DeepSeek-V3: "
                     "64).",
      .min = 0, .max = kMaxHeadDim},
     [](models::ModelSpec& m, const Value& v) { m.mla.qk_rope_head_dim = v.integer; }},
    {{.key = "v_head_dim", .type = ValueType::kInteger, .presence = Presence::kDefault, .default_value = "0",
      .description = "MLA: value (and attention output) width per head (DeepSeek-V3: 128).", .min = 0,
      .max = kMaxHeadDim},
     [](models::ModelSpec& m, const Value& v) { m.mla.v_head_dim = v.integer; }},
    {{.key = "sliding_window", .type = ValueType::kInteger, .presence = Presence::kDefault, .default_value = "0",
      .description = "Sliding-window attention: each query attends to the last sliding_window tokens, itself "
                     "included (0: full causal attention). Which layers: full_attention_interval.",
      .min = 0, .max = kMaxSeq},
     [](models::ModelSpec& m, const Value& v) { m.sliding_window = v.integer; }},
    {{.key = "full_attention_interval", .type = ValueType::kInteger, .presence = Presence::kDefault,
      .default_value = "0",
      .description = "With a sliding_window: 0 windows every layer; N > 0 keeps every N-th layer full (layer % N "
                     "== N - 1), e.g. 2 alternates windowed and full layers as gpt-oss does.",
      .min = 0, .max = kMaxLayers},
     [](models::ModelSpec& m, const Value& v) { m.full_attention_interval = v.integer; }},
    {{.key = "num_experts", .type = ValueType::kInteger, .presence = Presence::kDefault, .default_value = "0",
      .description = "Routed experts of each MoE layer; 0 is a dense model (every MoE key below must then keep "
                     "its default).",
      .min = 0, .max = 65536},
     [](models::ModelSpec& m, const Value& v) { m.moe.num_experts = v.integer; }},
    {{.key = "top_k", .type = ValueType::kInteger, .presence = Presence::kDefault, .default_value = "0",
      .description = "Routed experts each token goes to (1 to num_experts for an MoE model).", .min = 0,
      .max = 65536},
     [](models::ModelSpec& m, const Value& v) { m.moe.top_k = v.integer; }},
    {{.key = "expert_ffn_hidden", .type = ValueType::kInteger, .presence = Presence::kDefault, .default_value = "0",
      .description = "Inner width of one routed expert's MLP (per matrix for SwiGLU).", .min = 0, .max = kMaxFfn},
     [](models::ModelSpec& m, const Value& v) { m.moe.expert_ffn_hidden = v.integer; }},
    {{.key = "num_shared_experts", .type = ValueType::kInteger, .presence = Presence::kDefault,
      .default_value = "0", .description = "Experts every token goes through in each MoE layer (DeepSeek).",
      .min = 0, .max = 1024},
     [](models::ModelSpec& m, const Value& v) { m.moe.num_shared_experts = v.integer; }},
    {{.key = "shared_expert_ffn_hidden", .type = ValueType::kInteger, .presence = Presence::kDefault,
      .default_value = "0", .description = "Inner width of one shared expert's MLP.", .min = 0, .max = kMaxFfn},
     [](models::ModelSpec& m, const Value& v) { m.moe.shared_expert_ffn_hidden = v.integer; }},
    {{.key = "first_dense_layers", .type = ValueType::kInteger, .presence = Presence::kDefault,
      .default_value = "0",
      .description = "Leading decoder layers with a dense MLP of ffn_hidden (DeepSeek-V3: 3).", .min = 0,
      .max = kMaxLayers},
     [](models::ModelSpec& m, const Value& v) { m.moe.first_dense_layers = v.integer; }},
    {{.key = "moe_layer_frequency", .type = ValueType::kInteger, .presence = Presence::kDefault,
      .default_value = "1",
      .description = "After the first dense layers, every n-th layer is an MoE layer (the others dense).",
      .min = 1, .max = kMaxLayers},
     [](models::ModelSpec& m, const Value& v) { m.moe.layer_frequency = v.integer; }},
    {{.key = "gate", .type = ValueType::kChoice, .presence = Presence::kDefault, .default_value = "\"softmax\"",
      .description = "Router scoring: softmax over the experts (Mixtral, Qwen3) or sigmoid (DeepSeek-V3).",
      .choices = kGateChoices},
     [](models::ModelSpec& m, const Value& v) { m.moe.gate = static_cast<models::GateKind>(v.choice); }},
    {{.key = "capacity_factor", .type = ValueType::kNumber, .presence = Presence::kDefault, .default_value = "0",
      .description = "Expert capacity as a multiple of the balanced load, per source rank; assignments beyond "
                     "it are dropped. 0 is dropless.",
      .min = 0.0, .max = 1024.0},
     [](models::ModelSpec& m, const Value& v) { m.moe.capacity_factor = v.number; }},
    {{.key = "hottest_expert_share", .type = ValueType::kNumber, .presence = Presence::kDefault,
      .default_value = "0",
      .description = "Load imbalance: the share of all routed assignments the busiest expert gets (at least "
                     "1/num_experts); 0 is perfectly balanced. The busiest expert's rank sets the pace.",
      .min = 0.0, .max = 1.0},
     [](models::ModelSpec& m, const Value& v) { m.moe.hottest_expert_share = v.number; }},
    {{.key = "source", .type = ValueType::kString, .presence = Presence::kDefault, .default_value = "\"\"",
      .description = "Where the figures come from (paper, model card)."},
     [](models::ModelSpec& m, const Value& v) { m.source = v.text; }},
}};

// ---- training ------------------------------------------------------------------------

inline constexpr std::array<Field<models::TrainingSpec>, 9> kTrainingFields{{
    {{.key = "seq_len", .type = ValueType::kInteger, .presence = Presence::kRequired,
      .description = "Sequence length, tokens.", .min = 1, .max = kMaxSeq},
     [](models::TrainingSpec& t, const Value& v) { t.seq_len = v.integer; }},
    {{.key = "global_batch", .type = ValueType::kInteger, .presence = Presence::kRequired,
      .description = "Sequences per optimizer step, all data-parallel replicas together.", .min = 1,
      .max = kMaxBatch},
     [](models::TrainingSpec& t, const Value& v) { t.global_batch = v.integer; }},
    {{.key = "micro_batch", .type = ValueType::kInteger, .presence = Presence::kDefault, .default_value = "1",
      .description = "Sequences per micro-batch per replica; global_batch / (dp x micro_batch) micro-batches "
                     "run per step.",
      .min = 1, .max = kMaxMicroBatch},
     [](models::TrainingSpec& t, const Value& v) { t.micro_batch = v.integer; }},
    {{.key = "precision", .type = ValueType::kChoice, .presence = Presence::kDefault,
      .default_value = "\"megatron_bf16\"",
      .description = "megatron_bf16: bf16 weights, fp32 main grads, fp32 master weights and Adam moments "
                     "(18 bytes/param); amp_bf16: PyTorch AMP, fp32 weights cast to bf16 each forward; "
                     "pure_bf16: everything bf16 (8 bytes/param); fsdp_mixed_bf16: PyTorch FSDP2 mixed precision "
                     "(fp32 shards cast to bf16 before each gather, fp32 gradient reduction, no autocast copies; "
                     "as amp_bf16 without ZeRO-3).",
      .choices = kPrecisionChoices},
     [](models::TrainingSpec& t, const Value& v) { t.precision = static_cast<models::PrecisionMode>(v.choice); }},
    {{.key = "recompute", .type = ValueType::kChoice, .presence = Presence::kDefault, .default_value = "\"none\"",
      .description = "Activation recomputation: none; selective (the parts recompute_modules names; without it "
                     "the attention core, Korthikanti et al.); full (keep each layer's input, recompute the layer "
                     "in backward).",
      .choices = kRecomputeChoices},
     [](models::TrainingSpec& t, const Value& v) { t.recompute = static_cast<models::Recompute>(v.choice); }},
    {{.key = "recompute_modules", .type = ValueType::kChoiceList, .presence = Presence::kDerived,
      .default_value = "none: selective recompute is the attention core (core_attn)",
      .description = "What selective recompute re-runs in backward instead of keeping its tensors (Megatron-Core's "
                     "--recompute-modules); needs recompute = \"selective\". core_attn: the attention core; "
                     "layernorm: the input and pre-MLP norms (their outputs are not kept); mla_up_proj (attention "
                     "mla): the latent norms, up-projections and rotary (Q, K and V are not kept, the compressed "
                     "latents and the rotary key are); moe_act (MoE): the routed experts' activation (its output "
                     "is not kept); mlp: a dense layer's MLP (only its input is kept); shared_experts: an MoE "
                     "layer's shared experts (only their input is kept). Each at most once; a module the model "
                     "lacks is an error.",
      .choices = kRecomputeModuleChoices},
     [](models::TrainingSpec& t, const Value& v) {
       t.recompute_modules.clear();
       for (const int c : v.choice_list) t.recompute_modules.push_back(static_cast<models::RecomputeModule>(c));
     }},
    {{.key = "clip_grad_norm", .type = ValueType::kBoolean, .presence = Presence::kDefault, .default_value = "true",
      .description = "Clip the gradient norm each step (its norm and scaling kernels run)."},
     [](models::TrainingSpec& t, const Value& v) { t.clip_grad_norm = v.boolean; }},
    {{.key = "framework", .type = ValueType::kChoice, .presence = Presence::kDefault, .default_value = "\"megatron\"",
      .description = "Software stack: megatron (fused rotary, SwiGLU, norms); pytorch-eager (every small op its "
                     "own kernel; TP through DTensor, whose host dispatch the calibration's host costs charge); "
                     "pytorch-compile (torch.compile'd blocks: fused like megatron, DTensor host costs kept). "
                     "docs/calibration.md.",
      .choices = kFrameworkChoices},
     [](models::TrainingSpec& t, const Value& v) { t.framework = static_cast<models::Framework>(v.choice); }},
    {{.key = "optimizer", .type = ValueType::kChoice, .presence = Presence::kDefault,
      .default_value = "\"adamw_fused\"",
      .description = "AdamW implementation: adamw_fused (one multi-tensor kernel; Megatron's, and PyTorch's "
                     "AdamW(fused=True)); adamw_foreach (torch.optim.AdamW's default on CUDA: eight multi-tensor "
                     "elementwise passes, about 2.5x the traffic; PyTorch frameworks only).",
      .choices = kOptimizerChoices},
     [](models::TrainingSpec& t, const Value& v) { t.optimizer = static_cast<models::OptimizerImpl>(v.choice); }},
}};

// ---- plan ----------------------------------------------------------------------------

inline constexpr std::array<Field<models::ParallelPlan>, 17> kPlanFields{{
    {{.key = "tp", .type = ValueType::kInteger, .presence = Presence::kDefault, .default_value = "1",
      .description = "Tensor-parallel size: GPUs that split each layer's matrices (Megatron).", .min = 1,
      .max = kMaxModelParallel},
     [](models::ParallelPlan& p, const Value& v) { p.tp = static_cast<int>(v.integer); }},
    {{.key = "pp", .type = ValueType::kInteger, .presence = Presence::kDefault, .default_value = "1",
      .description = "Pipeline-parallel size: stages the layers are split into.", .min = 1,
      .max = kMaxModelParallel},
     [](models::ParallelPlan& p, const Value& v) { p.pp = static_cast<int>(v.integer); }},
    {{.key = "dp", .type = ValueType::kInteger, .presence = Presence::kDefault, .default_value = "1",
      .description = "Data-parallel size: model replicas. dp x tp x pp must equal the cluster's GPU count.",
      .min = 1, .max = kMaxDataParallel},
     [](models::ParallelPlan& p, const Value& v) { p.dp = static_cast<int>(v.integer); }},
    {{.key = "virtual_stages", .type = ValueType::kInteger, .presence = Presence::kDefault, .default_value = "1",
      .description = "Model chunks per pipeline rank; more than 1 needs schedule interleaved-1f1b.", .min = 1,
      .max = 1024},
     [](models::ParallelPlan& p, const Value& v) { p.virtual_stages = static_cast<int>(v.integer); }},
    {{.key = "sequence_parallel", .type = ValueType::kBoolean, .presence = Presence::kDefault,
      .default_value = "false",
      .description = "Megatron sequence parallelism: norms and dropout split over the TP group (needs tp > 1)."},
     [](models::ParallelPlan& p, const Value& v) { p.sequence_parallel = v.boolean; }},
    {{.key = "zero_stage", .type = ValueType::kInteger, .presence = Presence::kDefault, .default_value = "0",
      .description = "0: plain data parallel (gradient all-reduce); 1: optimizer state sharded over dp; "
                     "2: + gradients; 3: + parameters (FSDP: all-gather before each layer).",
      .min = 0, .max = 3},
     [](models::ParallelPlan& p, const Value& v) { p.zero_stage = static_cast<int>(v.integer); }},
    {{.key = "schedule", .type = ValueType::kChoice, .presence = Presence::kDefault, .default_value = "\"1f1b\"",
      .description = "Pipeline schedule. zb-h1: 1F1B with each backward split into input and weight gradients, "
                     "the weight-gradient passes filling the drain (Qi et al. 2024); dualpipe: DeepSeek-V3's "
                     "bidirectional schedule (each rank holds two model stages; pp and the micro-batch count "
                     "even); its forward-backward pairs overlap their all-to-alls with ep_comm_overlap, and run "
                     "one after the other without it.",
      .choices = kScheduleChoices},
     [](models::ParallelPlan& p, const Value& v) { p.schedule = static_cast<models::PipelineSchedule>(v.choice); }},
    {{.key = "order", .type = ValueType::kChoiceList, .presence = Presence::kDefault,
      .default_value = "[\"tp\", \"dp\", \"pp\"]",
      .description = "Rank numbering, innermost first: the default keeps a TP group inside a node. Names tp, "
                     "dp and pp once each.",
      .choices = kDimChoices},
     [](models::ParallelPlan& p, const Value& v) {
       // Fewer or more than three entries are reported by the plan check.
       for (std::size_t i = 0; i < v.choice_list.size() && i < p.order.size(); ++i) {
         p.order[i] = static_cast<models::ParallelDim>(v.choice_list[i]);
       }
     }},
    {{.key = "dp_bucket_size", .type = ValueType::kBytes, .presence = Presence::kDefault,
      .default_value = "\"160 MB\"",
      .description = "Gradient bucket for the data-parallel reduction (Megatron: 40M fp32 params).",
      .min_exclusive = true},
     [](models::ParallelPlan& p, const Value& v) { p.dp_bucket_size = v.bytes; }},
    {{.key = "overlap_grad_reduce", .type = ValueType::kBoolean, .presence = Presence::kDefault,
      .default_value = "true", .description = "Reduce gradient buckets while backward still runs."},
     [](models::ParallelPlan& p, const Value& v) { p.overlap_grad_reduce = v.boolean; }},
    {{.key = "fsdp_prefetch", .type = ValueType::kBoolean, .presence = Presence::kDefault, .default_value = "true",
      .description = "ZeRO-3: all-gather layer i+1's parameters while layer i computes."},
     [](models::ParallelPlan& p, const Value& v) { p.fsdp_prefetch = v.boolean; }},
    {{.key = "layers_per_stage", .type = ValueType::kIntegerList, .presence = Presence::kDerived,
      .default_value = "an even split",
      .description = "Decoder layers per pipeline stage (pp entries), or per model chunk in model order "
                     "(pp x virtual_stages entries); they sum to num_layers.",
      .min = 1, .max = kMaxLayers},
     [](models::ParallelPlan& p, const Value& v) {
       p.layers_per_stage.assign(v.integers.begin(), v.integers.end());
     }},
    {{.key = "ep", .type = ValueType::kInteger, .presence = Presence::kDefault, .default_value = "1",
      .description = "Expert-parallel size (MoE): GPUs the routed experts are spread over, with all-to-all "
                     "token dispatch and combine. Folded into the tp x dp GPUs of each stage (Megatron): "
                     "ep x expert_tp must divide tp x dp, ep must divide num_experts.",
      .min = 1, .max = kMaxModelParallel},
     [](models::ParallelPlan& p, const Value& v) { p.ep = static_cast<int>(v.integer); }},
    {{.key = "expert_tp", .type = ValueType::kInteger, .presence = Presence::kDerived,
      .default_value = "the same as tp",
      .description = "Expert tensor-parallel size (MoE): GPUs that split each expert's matrices. Expert "
                     "gradients are reduced over the remaining tp x dp / (ep x expert_tp) GPUs (expert-DP).",
      .min = 1, .max = kMaxModelParallel},
     [](models::ParallelPlan& p, const Value& v) { p.expert_tp = static_cast<int>(v.integer); }},
    {{.key = "ep_comm_overlap", .type = ValueType::kBoolean, .presence = Presence::kDefault,
      .default_value = "false",
      .description = "MoE with ep > 1: run pairs of one micro-batch's forward and another's backward "
                     "interleaved, each pass's expert all-to-alls (on a stream of their own) running while the "
                     "other pass computes (Megatron-Core's --overlap-moe-expert-parallel-comm; DeepSeek-V3's "
                     "DualPipe). Pairs: dualpipe's own; interleaved-1f1b, each forward followed by a backward of "
                     "another micro-batch or chunk; at pp = 1 (1f1b only) forward i + 1 with backward i, holding "
                     "two micro-batches' activations. Other schedules with pp > 1 are rejected."},
     [](models::ParallelPlan& p, const Value& v) { p.ep_comm_overlap = v.boolean; }},
    {{.key = "cp", .type = ValueType::kInteger, .presence = Presence::kDefault, .default_value = "1",
      .description = "Context-parallel size: GPUs each sequence is split over (causal load balancing: rank i "
                     "holds chunks i and 2 cp - 1 - i, so seq_len must divide by 2 cp). tp x cp x pp x dp = GPUs; "
                     "cp sits inside the data dimension of `order` (context fastest); gradients and ZeRO shards "
                     "span dp x cp GPUs.",
      .min = 1, .max = kMaxModelParallel},
     [](models::ParallelPlan& p, const Value& v) { p.cp = static_cast<int>(v.integer); }},
    {{.key = "cp_comm", .type = ValueType::kChoice, .presence = Presence::kDefault, .default_value = "\"ring\"",
      .description = "How context parallelism exchanges K and V: ring (ring attention: the cp - 1 block "
                     "transfers run during the attention kernel, dK and dV travel back during its backward) or "
                     "all-gather (gather K and V before the attention, reduce-scatter dK and dV after its "
                     "backward; the whole K and V of a layer held meanwhile).",
      .choices = kContextCommChoices},
     [](models::ParallelPlan& p, const Value& v) { p.cp_comm = static_cast<models::ContextComm>(v.choice); }},
}};

// ---- cluster -------------------------------------------------------------------------

inline constexpr std::array<Field<hardware::ClusterSpec>, 4> kClusterFields{{
    {{.key = "node", .type = ValueType::kNameOrObject, .presence = Presence::kRequired,
      .description = "A node preset's name (`dtsim list nodes`), or an object (section `node`).",
      .section = "node"}},
    {{.key = "num_nodes", .type = ValueType::kInteger, .presence = Presence::kRequired,
      .description = "Nodes in the cluster.", .min = 1, .max = kMaxNodes},
     [](hardware::ClusterSpec& c, const Value& v) { c.num_nodes = static_cast<int>(v.integer); }},
    {{.key = "fabric", .type = ValueType::kObject, .presence = Presence::kDefault, .default_value = "{}",
      .description = "The scale-out network (section `fabric`).", .section = "fabric"}},
    {{.key = "host_slowdown", .type = ValueType::kNumber, .presence = Presence::kDefault, .default_value = "1.0",
      .description = "How many times longer the hosts' CPUs take to issue GPU work than the host the "
                     "calibration measured: every host time (launch costs, measured eager layers, DTensor "
                     "dispatch) is multiplied by it. Matters where the report's breakdown shows host_wait "
                     "(eager PyTorch on small layers). One H100 machine ran 1.4-2.2 inside training processes "
                     "(docs/validation.md).",
      .min = 0.01, .max = 100.0},
     [](hardware::ClusterSpec& c, const Value& v) { c.host_slowdown = v.number; }},
}};

inline constexpr std::array<Field<hardware::NodeSpec>, 9> kNodeFields{{
    {{.key = "base", .type = ValueType::kString, .presence = Presence::kRequired,
      .description = "Node preset to start from; every key left out keeps its value."}},
    {{.key = "name", .type = ValueType::kString, .presence = Presence::kDerived,
      .default_value = "base name (+ \" (modified)\" with overrides)", .description = "Name shown in reports."},
     [](hardware::NodeSpec& n, const Value& v) { n.name = v.text; }},
    {{.key = "gpu", .type = ValueType::kNameOrObject, .presence = Presence::kFromBase,
      .description = "A GPU preset's name (`dtsim list gpus`), or an object (section `gpu`).", .section = "gpu"}},
    {{.key = "gpus_per_node", .type = ValueType::kInteger, .presence = Presence::kFromBase,
      .description = "GPUs in one NVLink domain.", .min = 1, .max = kMaxGpusPerNode},
     [](hardware::NodeSpec& n, const Value& v) { n.gpus_per_node = static_cast<int>(v.integer); }},
    {{.key = "nvlink_bandwidth", .type = ValueType::kBandwidth, .presence = Presence::kFromBase,
      .description = "NVLink bandwidth per GPU, per direction.", .min_exclusive = true},
     [](hardware::NodeSpec& n, const Value& v) { n.nvlink_bandwidth = v.bandwidth; }},
    {{.key = "nvlink_latency", .type = ValueType::kDuration, .presence = Presence::kFromBase,
      .description = "GPU to GPU latency through the NVSwitch."},
     [](hardware::NodeSpec& n, const Value& v) { n.nvlink_latency = v.duration; }},
    {{.key = "nics_per_node", .type = ValueType::kInteger, .presence = Presence::kDerived,
      .default_value = "the base's NICs per GPU x gpus_per_node",
      .description = "Scale-out NICs (rails) per node; at most gpus_per_node.", .min = 1,
      .max = kMaxGpusPerNode},
     [](hardware::NodeSpec& n, const Value& v) { n.nics_per_node = static_cast<int>(v.integer); }},
    {{.key = "nic_bandwidth", .type = ValueType::kBandwidth, .presence = Presence::kFromBase,
      .description = "Bandwidth of one NIC, per direction (\"400 Gb/s\" for NDR).", .min_exclusive = true},
     [](hardware::NodeSpec& n, const Value& v) { n.nic_bandwidth = v.bandwidth; }},
    {{.key = "nic_latency", .type = ValueType::kDuration, .presence = Presence::kFromBase,
      .description = "Latency of one network adapter (a path crosses two)."},
     [](hardware::NodeSpec& n, const Value& v) { n.nic_latency = v.duration; }},
}};

inline constexpr std::array<Field<hardware::GpuSpec>, 10> kGpuFields{{
    {{.key = "base", .type = ValueType::kString, .presence = Presence::kRequired,
      .description = "GPU preset to start from; every key left out keeps its value."}},
    {{.key = "name", .type = ValueType::kString, .presence = Presence::kDerived,
      .default_value = "base name (+ \" (modified)\" with overrides)", .description = "Name shown in reports."},
     [](hardware::GpuSpec& g, const Value& v) { g.name = v.text; }},
    {{.key = "arch", .type = ValueType::kChoice, .presence = Presence::kFromBase,
      .description = "Generation; picks the datasheet calibration defaults for a GPU that is not a preset.",
      .choices = kArchChoices},
     [](hardware::GpuSpec& g, const Value& v) { g.arch = static_cast<hardware::GpuArch>(v.choice); }},
    {{.key = "peak_bf16", .type = ValueType::kFlopRate, .presence = Presence::kFromBase,
      .description = "Dense bf16 tensor-core peak (also the MFU reference).", .min_exclusive = true},
     [](hardware::GpuSpec& g, const Value& v) { g.peak_bf16 = v.flop_rate; }},
    {{.key = "peak_fp8", .type = ValueType::kFlopRate, .presence = Presence::kFromBase,
      .description = "Dense fp8 tensor-core peak; \"0 FLOP/s\" where the GPU has no fp8."},
     [](hardware::GpuSpec& g, const Value& v) { g.peak_fp8 = v.flop_rate; }},
    {{.key = "peak_fp32", .type = ValueType::kFlopRate, .presence = Presence::kFromBase,
      .description = "fp32 peak of the SIMT units (non-tensor-core work).", .min_exclusive = true},
     [](hardware::GpuSpec& g, const Value& v) { g.peak_fp32 = v.flop_rate; }},
    {{.key = "memory_capacity", .type = ValueType::kBytes, .presence = Presence::kFromBase,
      .description = "HBM an application can allocate.", .min_exclusive = true},
     [](hardware::GpuSpec& g, const Value& v) { g.memory_capacity = v.bytes; }},
    {{.key = "memory_bandwidth", .type = ValueType::kBandwidth, .presence = Presence::kFromBase,
      .description = "HBM bandwidth.", .min_exclusive = true},
     [](hardware::GpuSpec& g, const Value& v) { g.memory_bandwidth = v.bandwidth; }},
    {{.key = "sm_count", .type = ValueType::kInteger, .presence = Presence::kFromBase,
      .description = "Streaming multiprocessors (GEMM wave quantization).", .min = 1, .max = kMaxSms},
     [](hardware::GpuSpec& g, const Value& v) { g.sm_count = static_cast<int>(v.integer); }},
    {{.key = "tdp", .type = ValueType::kPower, .presence = Presence::kFromBase,
      .description = "Board power.", .min_exclusive = true},
     [](hardware::GpuSpec& g, const Value& v) { g.tdp = v.power; }},
}};

inline constexpr std::array<Field<hardware::FabricSpec>, 6> kFabricFields{{
    {{.key = "kind", .type = ValueType::kChoice, .presence = Presence::kDefault, .default_value = "\"infiniband\"",
      .description = "Network technology.", .choices = kFabricChoices},
     [](hardware::FabricSpec& f, const Value& v) { f.kind = static_cast<hardware::FabricKind>(v.choice); }},
    {{.key = "switch_radix", .type = ValueType::kInteger, .presence = Presence::kDefault, .default_value = "64",
      .description = "Ports per switch (even, at least 4).", .min = 4, .max = 65536},
     [](hardware::FabricSpec& f, const Value& v) { f.switch_radix = static_cast<int>(v.integer); }},
    {{.key = "tiers", .type = ValueType::kInteger, .presence = Presence::kDefault, .default_value = "0",
      .description = "Fat-tree tiers; 0 builds the fewest that connect every node.", .min = 0, .max = 8},
     [](hardware::FabricSpec& f, const Value& v) { f.tiers = static_cast<int>(v.integer); }},
    {{.key = "oversubscription", .type = ValueType::kNumber, .presence = Presence::kDefault,
      .default_value = "1.0", .description = "Down:up capacity ratio of every tier; 1 is non-blocking.",
      .min = 1.0, .max = 1024.0},
     [](hardware::FabricSpec& f, const Value& v) { f.oversubscription = v.number; }},
    {{.key = "switch_latency", .type = ValueType::kDuration, .presence = Presence::kDefault,
      .default_value = "\"0.3 us\"", .description = "Port-to-port latency per switch traversed."},
     [](hardware::FabricSpec& f, const Value& v) { f.switch_latency = v.duration; }},
    {{.key = "rail_optimized", .type = ValueType::kBoolean, .presence = Presence::kDefault, .default_value = "true",
      .description = "NIC i of every node of a scalable unit goes to leaf i."},
     [](hardware::FabricSpec& f, const Value& v) { f.rail_optimized = v.boolean; }},
}};

// ---- simulation ------------------------------------------------------------------------

inline constexpr std::array<Field<sim::SimulationOptions>, 3> kSimulationFields{{
    {{.key = "symmetry", .type = ValueType::kBoolean, .presence = Presence::kDefault, .default_value = "true",
      .description = "Simulate one rank per pipeline stage instead of every rank (`dtsim run --full` turns it "
                     "off)."},
     [](sim::SimulationOptions& o, const Value& v) { o.use_symmetry = v.boolean; }},
    {{.key = "collective_algorithm", .type = ValueType::kChoice, .presence = Presence::kDefault,
      .default_value = "\"auto\"",
      .description = "Algorithm for every collective; auto picks the fastest per call, as NCCL's tuner does.",
      .choices = kAlgorithmChoices},
     [](sim::SimulationOptions& o, const Value& v) {
       o.algorithm = static_cast<hardware::CollectiveAlgorithm>(v.choice);
     }},
    {{.key = "event_limit", .type = ValueType::kInteger, .presence = Presence::kDefault,
      .default_value = "2000000000", .description = "Stop with an error after this many simulation events.",
      .min = 1, .max = 1e15},
     [](sim::SimulationOptions& o, const Value& v) { o.event_limit = static_cast<std::uint64_t>(v.integer); }},
}};

// ---- cost ------------------------------------------------------------------------------

inline constexpr std::array<Field<CostSpec>, 5> kCostFields{{
    {{.key = "tokens", .type = ValueType::kInteger, .presence = Presence::kRequired,
      .description = "Tokens to train; whole steps are counted (ceil(tokens / tokens per step)).", .min = 1,
      .max = 1e18},
     [](CostSpec& c, const Value& v) { c.tokens = v.integer; }},
    {{.key = "gpu_hour_price", .type = ValueType::kNumber, .presence = Presence::kDerived,
      .default_value = "none: no money figure",
      .description = "Price of one GPU for one hour, in `currency` (e.g. 2.5 for 2.50 USD per GPU-hour).",
      .min = 0.0, .max = 1e9},
     [](CostSpec& c, const Value& v) { c.gpu_hour_price = v.number; }},
    {{.key = "currency", .type = ValueType::kString, .presence = Presence::kDefault, .default_value = "\"USD\"",
      .description = "Unit of gpu_hour_price, shown with every cost."},
     [](CostSpec& c, const Value& v) { c.currency = v.text; }},
    {{.key = "gpu_power", .type = ValueType::kPower, .presence = Presence::kDerived,
      .default_value = "the GPU's tdp",
      .description = "Average power one GPU draws while training (energy = GPUs x gpu_power x time x pue).",
      .min_exclusive = true},
     [](CostSpec& c, const Value& v) { c.gpu_power = v.power; }},
    {{.key = "pue", .type = ValueType::kNumber, .presence = Presence::kDefault, .default_value = "1.0",
      .description = "Power usage effectiveness: facility power over IT power (cooling, conversion losses).",
      .min = 1.0, .max = 10.0},
     [](CostSpec& c, const Value& v) { c.pue = v.number; }},
}};

// ---- sweep -----------------------------------------------------------------------------
// Read by the table for its keys and documentation; the axes are read by
// sweep_spec.cpp (each axis is an object: path + values or range).

inline constexpr NamedValue kSweepModeChoices[] = {{"product", 0}, {"zip", 1}};

inline constexpr std::array<Field<SweepSettings>, 3> kSweepFields{{
    {{.key = "mode", .type = ValueType::kChoice, .presence = Presence::kDefault, .default_value = "\"product\"",
      .description = "product: every combination of the axes' values (the last axis varies fastest); zip: "
                     "the i-th value of every axis together (all axes the same length).",
      .choices = kSweepModeChoices},
     [](SweepSettings& s, const Value& v) { s.zip = v.choice == 1; }},
    {{.key = "fill_dp", .type = ValueType::kBoolean, .presence = Presence::kDefault, .default_value = "false",
      .description = "Set /plan/dp at every point to the cluster's GPUs / (the plan's other parallel sizes); a "
                     "point where that does not divide is skipped with the reason."},
     [](SweepSettings& s, const Value& v) { s.fill_dp = v.boolean; }},
    {{.key = "axes", .type = ValueType::kObjectList, .presence = Presence::kRequired,
      .description = "The fields to vary, one object each: {\"path\": a JSON pointer such as \"/plan/tp\", "
                     "\"values\": [...]} or {\"path\": ..., \"range\": {\"from\": 1, \"to\": 64, \"step\": 1 "
                     "or \"factor\": 2}} (docs/sweeps.md)."}},
}};

}  // namespace dtsim::scenarios::detail
