#include <string>

#include "dtsim/models/model_spec.hpp"

namespace dtsim::models {

namespace {

// GPT-3 family: Brown et al. 2020, "Language Models are Few-Shot Learners",
// Table 2.1 (n_layers, d_model, n_heads, d_head; every model uses a context of
// 2048 tokens and d_ff = 4 d_model). GPT-2's BPE vocabulary of 50257 tokens,
// LayerNorm, GELU, learned positions, tied input/output embeddings, biases on
// every linear layer, and hidden dropout. Table 2.1 lists d_head = 128 for the
// 1.3B and 13B models although n_heads x d_head != d_model there; we keep the
// table's figures (heads x head_dim is the attention width, h the residual width).
ModelSpec gpt3(std::string name, std::int64_t layers, std::int64_t hidden, std::int64_t heads, std::int64_t head_dim) {
  ModelSpec m;
  m.name = std::move(name);
  m.num_layers = layers;
  m.hidden = hidden;
  m.num_heads = heads;
  m.num_kv_heads = heads;
  m.head_dim = head_dim;
  m.ffn_hidden = 4 * hidden;
  m.vocab_size = 50257;
  m.max_seq_len = 2048;
  m.mlp = MlpKind::kGelu;
  m.norm = NormKind::kLayerNorm;
  m.position = PositionKind::kLearned;
  m.tied_embeddings = true;
  m.linear_bias = true;
  m.dropout = true;
  m.source = "Brown et al. 2020, Language Models are Few-Shot Learners, Table 2.1";
  return m;
}

// Llama 3 family: RMSNorm, SwiGLU, rotary positions, grouped-query attention
// with 8 KV heads, head_dim 128, the 128256-token tiktoken-based vocabulary,
// no biases, untied embeddings (tied for the 3.2 small models).
ModelSpec llama3(std::string name, std::int64_t layers, std::int64_t hidden, std::int64_t heads, std::int64_t ffn,
                 std::int64_t max_seq, bool tied, std::string source) {
  ModelSpec m;
  m.name = std::move(name);
  m.num_layers = layers;
  m.hidden = hidden;
  m.num_heads = heads;
  m.num_kv_heads = 8;
  m.head_dim = hidden / heads;
  m.ffn_hidden = ffn;
  m.vocab_size = 128256;
  m.max_seq_len = max_seq;
  m.mlp = MlpKind::kSwiGlu;
  m.norm = NormKind::kRmsNorm;
  m.position = PositionKind::kRotary;
  m.tied_embeddings = tied;
  m.linear_bias = false;
  m.dropout = false;
  m.source = std::move(source);
  return m;
}

// The small models of dtsim's own training-validation runs
// (hardware/calibration/training/configs.py and model.py): plain PyTorch, no
// dropout, head_dim = h / heads. "gpt" sizes its learned positions to the run's
// seq_len; we give it 2048 (the runs' default), so a run at another length
// should override max_seq_len.
ModelSpec validation_model(std::string name, bool llama, std::int64_t layers, std::int64_t hidden, std::int64_t heads,
                           std::int64_t kv_heads, std::int64_t ffn, std::int64_t vocab) {
  ModelSpec m;
  m.name = std::move(name);
  m.num_layers = layers;
  m.hidden = hidden;
  m.num_heads = heads;
  m.num_kv_heads = kv_heads;
  m.head_dim = hidden / heads;
  m.ffn_hidden = ffn;
  m.vocab_size = vocab;
  m.max_seq_len = llama ? 8192 : 2048;
  m.mlp = llama ? MlpKind::kSwiGlu : MlpKind::kGelu;
  m.norm = llama ? NormKind::kRmsNorm : NormKind::kLayerNorm;
  m.position = llama ? PositionKind::kRotary : PositionKind::kLearned;
  m.tied_embeddings = !llama;
  m.linear_bias = !llama;
  m.dropout = false;
  m.source = "dtsim validation runs, hardware/calibration/training/configs.py (MODELS)";
  return m;
}

// Mixture-of-experts models, from each model's released config.json (Hugging
// Face) and model card. Fields named as in config.json in the comments.
ModelSpec moe_model(std::string name, std::int64_t layers, std::int64_t hidden, std::int64_t heads,
                    std::int64_t kv_heads, std::int64_t head_dim, std::int64_t vocab, std::int64_t max_seq,
                    MoeSpec moe, std::string source) {
  ModelSpec m;
  m.name = std::move(name);
  m.num_layers = layers;
  m.hidden = hidden;
  m.num_heads = heads;
  m.num_kv_heads = kv_heads;
  m.head_dim = head_dim;
  m.ffn_hidden = moe.expert_ffn_hidden;  // dense layers' MLP; overridden where the model has its own
  m.vocab_size = vocab;
  m.max_seq_len = max_seq;
  m.mlp = MlpKind::kSwiGlu;
  m.norm = NormKind::kRmsNorm;
  m.position = PositionKind::kRotary;
  m.tied_embeddings = false;
  m.linear_bias = false;
  m.dropout = false;
  m.moe = moe;
  m.source = std::move(source);
  return m;
}

MoeSpec routed(std::int64_t experts, std::int64_t top_k, std::int64_t expert_ffn, GateKind gate = GateKind::kSoftmax) {
  MoeSpec e;
  e.num_experts = experts;
  e.top_k = top_k;
  e.expert_ffn_hidden = expert_ffn;
  e.gate = gate;
  return e;
}

void add_moe_models(ModelLibrary& lib) {
  // Mixtral: every layer MoE, 8 experts of 14336 / 16384, top-2, softmax gate
  // (num_local_experts, num_experts_per_tok, intermediate_size).
  lib.add(moe_model("mixtral-8x7b", 32, 4096, 32, 8, 128, 32000, 32768, routed(8, 2, 14336),
                    "mistralai/Mixtral-8x7B-v0.1 config.json (46.7B total, 12.9B active per the model card)"));
  lib.add(moe_model("mixtral-8x22b", 56, 6144, 48, 8, 128, 32768, 65536, routed(8, 2, 16384),
                    "mistralai/Mixtral-8x22B-v0.1 config.json (141B total, 39B active per the model card)"));

  // DeepSeek-V3: 61 layers, the first 3 dense (first_k_dense_replace = 3,
  // intermediate_size 18432), 256 routed experts of 2048 (moe_intermediate_size),
  // top-8 (num_experts_per_tok), 1 shared expert, sigmoid scoring; multi-head
  // latent attention with 128 heads (q_lora_rank 1536, kv_lora_rank 512,
  // qk_nope_head_dim 128, qk_rope_head_dim 64, v_head_dim 128): head_dim is
  // the QK width 128 + 64.
  MoeSpec ds = routed(256, 8, 2048, GateKind::kSigmoid);
  ds.num_shared_experts = 1;
  ds.shared_expert_ffn_hidden = 2048;
  ds.first_dense_layers = 3;
  ModelSpec v3 = moe_model("deepseek-v3", 61, 7168, 128, 128, 192, 129280, 163840, ds,
                           "deepseek-ai/DeepSeek-V3 config.json and arXiv:2412.19437 (671B total, 37B active, "
                           "the multi-token-prediction module excluded). APPROXIMATED: the node-limited routing "
                           "(4 nodes per token) is not modelled; the router's score-correction bias (not trained "
                           "by gradients) is not counted");
  v3.ffn_hidden = 18432;
  v3.attention = AttentionKind::kMla;
  v3.mla = MlaSpec{.q_lora_rank = 1536, .kv_lora_rank = 512, .qk_nope_head_dim = 128, .qk_rope_head_dim = 64,
                   .v_head_dim = 128};
  lib.add(std::move(v3));

  // Qwen3-235B-A22B: 94 layers, all MoE (decoder_sparse_step 1, no
  // mlp_only_layers), 128 experts of 1536, top-8, GQA 64 / 4 heads of 128.
  ModelSpec qwen = moe_model("qwen3-235b-a22b", 94, 4096, 64, 4, 128, 151936, 40960, routed(128, 8, 1536),
                             "Qwen/Qwen3-235B-A22B config.json (235B total, 22B active per the model card); "
                             "the QK RMSNorm (2 x 128 weights per layer) is not counted");
  qwen.ffn_hidden = 12288;  // intermediate_size: unused (no dense layer)
  lib.add(std::move(qwen));

  // gpt-oss-120b: 36 layers, 128 experts of 2880, top-4, GQA 64 / 8 heads of
  // 64, biases on attention and experts. The model card's 116.8B total.
  ModelSpec oss = moe_model("gpt-oss-120b", 36, 2880, 64, 8, 64, 201088, 131072, routed(128, 4, 2880),
                            "openai/gpt-oss-120b config.json and model card (116.8B total, 5.1B active): "
                            "layers alternate a 128-token sliding window and full attention (layer_types). "
                            "APPROXIMATED: attention sinks and the router bias are not counted");
  oss.linear_bias = true;
  oss.sliding_window = 128;
  oss.full_attention_interval = 2;
  lib.add(std::move(oss));
}

}  // namespace

ModelLibrary builtin_models() {
  ModelLibrary lib;
  lib.add(gpt3("gpt3-125m", 12, 768, 12, 64));
  lib.add(gpt3("gpt3-350m", 24, 1024, 16, 64));
  lib.add(gpt3("gpt3-1.3b", 24, 2048, 24, 128));
  lib.add(gpt3("gpt3-2.7b", 32, 2560, 32, 80));
  lib.add(gpt3("gpt3-6.7b", 32, 4096, 32, 128));
  lib.add(gpt3("gpt3-13b", 40, 5140, 40, 128));
  lib.add(gpt3("gpt3-175b", 96, 12288, 96, 128));

  const std::string llama3_paper = "Dubey et al. 2024, The Llama 3 Herd of Models, Table 3";
  lib.add(llama3("llama3-8b", 32, 4096, 32, 14336, 8192, false, llama3_paper));
  lib.add(llama3("llama3-70b", 80, 8192, 64, 28672, 8192, false, llama3_paper));
  lib.add(llama3("llama3-405b", 126, 16384, 128, 53248, 8192, false, llama3_paper));
  // Small Llama-style models that fit one GPU: for tests and for validation
  // against short real runs. Figures from the released config.json files.
  const std::string llama32_card = "Meta Llama 3.2 model card and config.json (meta-llama/Llama-3.2-1B, -3B)";
  lib.add(llama3("llama3.2-1b", 16, 2048, 32, 8192, 131072, true, llama32_card));
  lib.add(llama3("llama3.2-3b", 28, 3072, 24, 8192, 131072, true, llama32_card));

  lib.add(validation_model("llama-h1024", true, 8, 1024, 8, 8, 2816, 32000));
  lib.add(validation_model("llama-h2048", true, 8, 2048, 16, 4, 5632, 32000));
  lib.add(validation_model("llama-h4096", true, 4, 4096, 32, 8, 14336, 32000));
  lib.add(validation_model("llama-h4096-v128k", true, 2, 4096, 32, 8, 14336, 128256));
  lib.add(validation_model("llama-h8192", true, 2, 8192, 64, 8, 28672, 32000));
  lib.add(validation_model("gpt-h1024", false, 12, 1024, 16, 16, 4096, 50304));
  lib.add(validation_model("gpt-h2048", false, 8, 2048, 16, 16, 8192, 50304));
  add_moe_models(lib);
  return lib;
}

}  // namespace dtsim::models
