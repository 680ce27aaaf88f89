// The scenario loader: every rejected input with the exact message it gives,
// defaults, overrides, and derived values.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "dtsim/hardware/presets.hpp"
#include "dtsim/scenarios/calibration_io.hpp"
#include "scenario_test_util.hpp"

using namespace dtsim;
using namespace dtsim::scenarios;
using namespace dtsim::scenarios::testing;

namespace {

std::string render(const std::vector<Diagnostic>& ds) {
  std::string out;
  for (const auto& d : ds) out += d.path + ": " + d.message + "\n";
  return out;
}

void require_only(const std::vector<Diagnostic>& ds, const std::string& path, const std::string& message) {
  INFO(render(ds));
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].path == path);
  CHECK(ds[0].message == message);
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

TEST_CASE("the minimal scenario loads", "[scenarios][loader]") {
  const auto ds = problems(minimal_scenario());
  INFO(render(ds));
  REQUIRE(ds.empty());
}

// ---- document level ----------------------------------------------------------

TEST_CASE("malformed JSON reports line and column", "[scenarios][loader][reject]") {
  require_only(problems(std::string("{\n  \"schema_version\": 1,\n}")), "",
               "JSON syntax error at line 3, column 1: while parsing object key - unexpected '}'; expected string "
               "literal");
  require_only(problems(std::string("{\"a\": tru}")), "",
               "JSON syntax error at line 1, column 10: while parsing value - invalid literal; last read: '\"a\": "
               "tru}'");
}

TEST_CASE("an empty document is rejected", "[scenarios][loader][reject]") {
  require_only(problems(std::string("  \n")), "", "the document is empty; expected a JSON object");
}

TEST_CASE("a top level that is not an object is rejected", "[scenarios][loader][reject]") {
  require_only(problems(std::string("[1, 2]")), "", "expected a JSON object at the top level, got [...] (array)");
  require_only(problems(std::string("\"llama3-8b\"")), "",
               "expected a JSON object at the top level, got \"llama3-8b\" (string)");
}

TEST_CASE("numbers beyond a double are rejected with their position", "[scenarios][loader][reject]") {
  require_only(problems(std::string("{\"schema_version\": 1e400}")), "",
               "number out of range: 1e400 at line 1, column 20 (JSON numbers must fit a double)");
}

TEST_CASE("NaN-like literals are syntax errors", "[scenarios][loader][reject]") {
  require_only(problems(std::string("{\"schema_version\": NaN}")), "",
               "JSON syntax error at line 1, column 20: while parsing value - invalid literal; last read: "
               "'\"schema_version\": N'");
}

TEST_CASE("deeply nested junk is rejected without recursion", "[scenarios][loader][reject]") {
  std::string deep = "{\"schema_version\": 1, \"description\": ";
  for (int i = 0; i < 100000; ++i) deep += '[';
  const auto ds = problems(deep);
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].message == "JSON nested deeper than 64 levels");
  CHECK(ds[0].path.rfind("/description/0/0/", 0) == 0);
}

TEST_CASE("a key repeated in one object is rejected", "[scenarios][loader][reject]") {
  require_only(problems(std::string("{\"schema_version\": 1, \"schema_version\": 1}")), "",
               "duplicate key 'schema_version'");
  require_only(problems(std::string(R"({"schema_version": 1, "plan": {"tp": 8, "tp": 4}})")), "/plan",
               "duplicate key 'tp'");
}

TEST_CASE("schema_version is required and must be 1", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["schema_version"] = 2;
  require_only(problems(j), "/schema_version", "unsupported schema_version 2; this dtsim reads schema_version 1");
  j["schema_version"] = "1";
  require_only(problems(j), "/schema_version", "expected the integer 1, got \"1\" (string)");
  j.erase("schema_version");
  require_only(problems(j), "", "missing required key 'schema_version'");
}

// ---- keys ------------------------------------------------------------------------

TEST_CASE("an unknown key is an error with a did-you-mean hint", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["plan"]["tpp"] = 8;
  require_only(problems(j), "/plan/tpp", "unknown key; did you mean 'tp'?");

  j = minimal_scenario();
  j["cluster"]["node"] = Json{{"base", "dgx-h100"}, {"nic_bandwith", "400 Gb/s"}};
  require_only(problems(j), "/cluster/node/nic_bandwith", "unknown key; did you mean 'nic_bandwidth'?");

  j = minimal_scenario();
  j["modle"] = "llama3-8b";
  j.erase("model");
  const auto ds = problems(j);
  INFO(render(ds));
  REQUIRE(ds.size() == 2);
  CHECK(ds[0].path == "/modle");
  CHECK(ds[0].message == "unknown key; did you mean 'model'?");
  CHECK(ds[1].path == "");
  CHECK(ds[1].message == "missing required key 'model'");
}

TEST_CASE("an unknown key far from every known one lists them", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["xyzzy"] = true;
  require_only(problems(j), "/xyzzy",
               "unknown key; expected one of schema_version, name, description, model, training, plan, cluster, "
               "calibration, simulation, cost, sweep");
}

TEST_CASE("missing required keys are named", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j.erase("training");
  require_only(problems(j), "", "missing required key 'training'");
  j = minimal_scenario();
  j["training"].erase("seq_len");
  require_only(problems(j), "/training", "missing required key 'seq_len'");
  j = minimal_scenario();
  j["cluster"].erase("num_nodes");
  require_only(problems(j), "/cluster", "missing required key 'num_nodes'");
}

// ---- types and ranges ---------------------------------------------------------------

TEST_CASE("a wrong type names the expected type and the value given", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["plan"]["tp"] = "8";
  require_only(problems(j), "/plan/tp", "expected a positive integer, got \"8\" (string)");
  j["plan"]["tp"] = 8.5;
  require_only(problems(j), "/plan/tp", "expected a positive integer, got 8.5 (number)");
  j["plan"]["tp"] = 8;
  j["plan"]["sequence_parallel"] = "yes";
  require_only(problems(j), "/plan/sequence_parallel", "expected true or false, got \"yes\" (string)");
  j = minimal_scenario();
  j["training"] = Json::array();
  require_only(problems(j), "/training", "expected an object, got [...] (array)");
  j = minimal_scenario();
  j["model"] = 5;
  require_only(problems(j), "/model", "expected a model name or an object, got 5 (number)");
  j = minimal_scenario();
  j["name"] = Json{{"a", 1}};
  require_only(problems(j), "/name", "expected a string, got {...} (object)");
  j = minimal_scenario();
  j["cluster"]["fabric"] = Json{{"oversubscription", "2"}};
  require_only(problems(j), "/cluster/fabric/oversubscription",
               "expected a number >= 1 and at most 1024, got \"2\" (string)");
}

TEST_CASE("integers out of range are rejected", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["plan"]["tp"] = 0;
  require_only(problems(j), "/plan/tp", "expected a positive integer, got 0 (number)");
  j["plan"]["tp"] = -8;
  require_only(problems(j), "/plan/tp", "expected a positive integer, got -8 (number)");
  j["plan"]["tp"] = 5000;
  require_only(problems(j), "/plan/tp", "expected at most 4096, got 5000 (number)");
  j["plan"]["tp"] = 8;
  j["plan"]["zero_stage"] = 4;
  require_only(problems(j), "/plan/zero_stage", "expected at most 3, got 4 (number)");
}

TEST_CASE("huge integers are rejected, never wrapped", "[scenarios][loader][reject]") {
  // Above int64 but within uint64, and above uint64 (parsed as a double).
  require_only(problems(std::string(R"({"schema_version": 1, "name": "t", "model": "llama3-8b",
                            "training": {"seq_len": 18446744073709551615, "global_batch": 16},
                            "plan": {"tp": 8}, "cluster": {"node": "dgx-h100", "num_nodes": 1}})")),
               "/training/seq_len", "expected at most 16777216, got 18446744073709551615 (number)");
  require_only(problems(std::string(R"({"schema_version": 1, "name": "t", "model": "llama3-8b",
                            "training": {"seq_len": 4096, "global_batch": 100000000000000000000000000000},
                            "plan": {"tp": 8}, "cluster": {"node": "dgx-h100", "num_nodes": 1}})")),
               "/training/global_batch", "expected a positive integer, got 1e+29 (number)");
}

TEST_CASE("an unknown choice gets a hint or the list", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["training"]["recompute"] = "selectve";
  require_only(problems(j), "/training/recompute", "unknown value 'selectve'; did you mean 'selective'?");
  j["training"]["recompute"] = "none";
  j["training"]["precision"] = "bf16";
  require_only(problems(j), "/training/precision",
               "unknown value 'bf16'; expected one of megatron_bf16, amp_bf16, pure_bf16, fsdp_mixed_bf16");
  j["training"]["precision"] = 16;
  require_only(problems(j), "/training/precision",
               "expected a string (one of megatron_bf16, amp_bf16, pure_bf16, fsdp_mixed_bf16), got 16 (number)");
}

TEST_CASE("foreach AdamW needs a PyTorch framework", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["training"]["optimizer"] = "adamw_foreach";
  require_only(problems(j), "/training/optimizer",
               "adamw_foreach is PyTorch's multi-tensor AdamW; Megatron's optimizer is fused (expected "
               "\"adamw_fused\", or a pytorch framework)");
  j["training"]["framework"] = "pytorch-eager";
  CHECK(problems(j).empty());
}

TEST_CASE("plan order must name tp, dp and pp once each", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["plan"]["order"] = Json::array({"tp", "tp", "pp"});
  require_only(problems(j), "/plan/order", "expected tp, dp and pp once each, got [\"tp\",\"tp\",\"pp\"]");
  j["plan"]["order"] = Json::array({"tp", "dp", "ep"});
  require_only(problems(j), "/plan/order/2", "unknown value 'ep'; did you mean 'tp'?");
  j["plan"]["order"] = "tp,dp,pp";
  require_only(problems(j), "/plan/order",
               "expected an array of strings, each one of tp, dp, pp, got \"tp,dp,pp\" (string)");
}

TEST_CASE("layers_per_stage entries are checked one by one", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["plan"]["layers_per_stage"] = Json::array({16, 0, "8"});
  const auto ds = problems(j);
  INFO(render(ds));
  REQUIRE(ds.size() == 2);
  CHECK(ds[0].path == "/plan/layers_per_stage/1");
  CHECK(ds[0].message == "expected a positive integer, got 0 (number)");
  CHECK(ds[1].path == "/plan/layers_per_stage/2");
  CHECK(ds[1].message == "expected a positive integer, got \"8\" (string)");
}

// ---- quantities -------------------------------------------------------------------------

TEST_CASE("a quantity with an unknown unit lists the units", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["cluster"]["node"] = Json{{"base", "dgx-h100"}, {"nic_bandwidth", "400 Gbit/s"}};
  require_only(problems(j), "/cluster/node/nic_bandwidth",
               "unknown unit 'Gbit/s' in '400 Gbit/s'; expected one of B/s, KB/s, MB/s, GB/s, TB/s, b/s, Kb/s, Mb/s, "
               "Gb/s, Tb/s");
}

TEST_CASE("a quantity needs a string with a unit", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["cluster"]["node"] = Json{{"base", "dgx-h100"}, {"nic_bandwidth", 400}};
  require_only(problems(j), "/cluster/node/nic_bandwidth",
               "expected a bandwidth string such as \"400 Gb/s\", got 400 (number)");
  j["cluster"]["node"]["nic_bandwidth"] = "400";
  require_only(problems(j), "/cluster/node/nic_bandwidth",
               "a bandwidth needs a unit, such as '400 Gb/s'; got '400'");
  j = minimal_scenario();
  j["plan"]["dp_bucket_size"] = "1.5 B";
  require_only(problems(j), "/plan/dp_bucket_size", "size '1.5 B' is not a whole number of bytes");
}

TEST_CASE("negative and zero bandwidths are rejected", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["cluster"]["node"] = Json{{"base", "dgx-h100"}, {"nvlink_bandwidth", "-450 GB/s"}};
  require_only(problems(j), "/cluster/node/nvlink_bandwidth", "a bandwidth must not be negative; got '-450 GB/s'");
  j["cluster"]["node"]["nvlink_bandwidth"] = "0 GB/s";
  require_only(problems(j), "/cluster/node/nvlink_bandwidth", "expected a positive bandwidth, got \"0 GB/s\" (string)");
  j = minimal_scenario();
  j["cluster"]["fabric"] = Json{{"switch_latency", "-1 us"}};
  require_only(problems(j), "/cluster/fabric/switch_latency", "a duration must not be negative; got '-1 us'");
}

// ---- names -----------------------------------------------------------------------------------

TEST_CASE("an unknown model name gets a hint or the list of built-ins", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["model"] = "llama3-7b";
  // Two names are one edit away; the first in the catalog's (sorted) order wins.
  require_only(problems(j), "/model", "unknown model 'llama3-7b'; did you mean 'llama3-70b'?");
  j["model"] = "bert";
  require_only(problems(j), "/model", "unknown model 'bert'; available: " + joined(catalogs().models.names()));
  j["model"] = Json{{"base", "llama-70b"}};
  require_only(problems(j), "/model/base", "unknown model 'llama-70b'; did you mean 'llama3-70b'?");
}

TEST_CASE("unknown node and GPU names get hints", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["cluster"]["node"] = "dgx-h1000";
  require_only(problems(j), "/cluster/node", "unknown node 'dgx-h1000'; did you mean 'dgx-h100'?");
  j["cluster"]["node"] = Json{{"base", "dgx-h100"}, {"gpu", "h300"}};
  require_only(problems(j), "/cluster/node/gpu", "unknown GPU 'h300'; did you mean 'h200'?");
  j["cluster"]["node"] = Json{{"base", "dgx-h100"}, {"gpu", Json{{"base", "tpu"}}}};
  require_only(problems(j), "/cluster/node/gpu/base",
               "unknown GPU 'tpu'; available: " + joined(catalogs().hardware.gpu_names()));
}

TEST_CASE("node and GPU objects need a base preset", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["cluster"]["node"] = Json{{"gpus_per_node", 8}};
  require_only(problems(j), "/cluster/node",
               "missing required key 'base' (a node preset to start from: " +
                   joined(catalogs().hardware.node_names()) + ")");
  j["cluster"]["node"] = Json{{"base", "dgx-h100"}, {"gpu", Json{{"memory_capacity", "94 GiB"}}}};
  require_only(problems(j), "/cluster/node/gpu",
               "missing required key 'base' (a GPU preset to start from: " + joined(catalogs().hardware.gpu_names()) +
                   ")");
}

TEST_CASE("an unknown calibration is rejected with the known names", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["calibration"] = "h100-measured.json";
  require_only(problems(j), "/calibration",
               "unknown calibration 'h100-measured.json'; expected a file path or one of " +
                   joined([] {
                     std::vector<std::string> names = calibration_names(catalogs().calibration_dirs);
                     names.insert(names.begin(), "datasheet-defaults");
                     return names;
                   }()));
  j["calibration"] = Json::object();
  require_only(problems(j), "/calibration", "expected a calibration name or file path (string), got {...} (object)");
}

// ---- custom models ---------------------------------------------------------------------------

TEST_CASE("a custom model must give its required keys", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["model"] = Json{{"num_layers", 4}, {"hidden", 512}, {"num_heads", 8}};
  const auto ds = problems(j);
  INFO(render(ds));
  REQUIRE(ds.size() == 2);
  CHECK(ds[0].path == "/model");
  CHECK(ds[0].message == "missing required key 'ffn_hidden'");
  CHECK(ds[1].message == "missing required key 'vocab_size'");
}

TEST_CASE("a custom model's head_dim must be derivable", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["plan"]["tp"] = 1;
  j["cluster"]["node"] = Json{{"base", "dgx-h100"}, {"gpus_per_node", 1}};
  j["model"] = Json{{"num_layers", 4}, {"hidden", 1000}, {"num_heads", 3}, {"ffn_hidden", 4000}, {"vocab_size", 1000}};
  require_only(problems(j), "/model", "hidden (1000) is not divisible by num_heads (3); give head_dim explicitly");
}

TEST_CASE("num_kv_heads must divide num_heads", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["plan"]["tp"] = 1;
  j["cluster"]["node"] = Json{{"base", "dgx-h100"}, {"gpus_per_node", 1}};
  j["model"] = Json{{"num_layers", 4}, {"hidden", 768}, {"num_heads", 6}, {"num_kv_heads", 4},
                    {"ffn_hidden", 3072}, {"vocab_size", 1000}};
  require_only(problems(j), "/model/num_kv_heads", "must divide num_heads (6), got 4");
}

TEST_CASE("an MLA model's fields are checked with their paths", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["model"] = Json{{"num_layers", 4},     {"hidden", 1024},         {"num_heads", 16},
                    {"ffn_hidden", 4096},  {"vocab_size", 32000},    {"attention", "mla"},
                    {"kv_lora_rank", 0},   {"qk_nope_head_dim", 64}, {"qk_rope_head_dim", 32},
                    {"v_head_dim", 64}};
  require_only(problems(j), "/model/kv_lora_rank",
               "kv_lora_rank = 0; expected an integer >= 1 with attention \"mla\"");
  // MLA fields on an MHA model are not ignored.
  j["model"] = Json{{"base", "llama3-70b"}, {"kv_lora_rank", 512}};
  require_only(problems(j), "/model/attention",
               "MLA fields (q_lora_rank, kv_lora_rank, qk_nope_head_dim, qk_rope_head_dim, v_head_dim) are set but "
               "attention is \"mha\"; expected attention \"mla\" or no MLA fields");
}

// ---- cross-field checks ----------------------------------------------------------------------

TEST_CASE("dp x tp x pp must equal the cluster's GPU count", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["plan"] = Json{{"tp", 8}, {"dp", 4}};
  j["cluster"]["num_nodes"] = 8;
  j["training"]["global_batch"] = 64;
  require_only(problems(j), "/plan", "dp\u00d7tp\u00d7pp = 32 but the cluster has 64 GPUs (8 nodes \u00d7 8)");
}

TEST_CASE("the plan is checked against the model (validate_plan)", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["plan"]["tp"] = 3;
  j["cluster"]["node"] = Json{{"base", "dgx-h100"}, {"gpus_per_node", 3}};
  const auto ds = problems(j);
  INFO(render(ds));
  REQUIRE_FALSE(ds.empty());
  CHECK(ds[0].path == "/plan/tp");
  CHECK(ds[0].message ==
        "tp = 3 does not divide num_heads = 32 of model 'llama3-8b'; expected a divisor of num_heads, num_kv_heads "
        "and ffn_hidden");
}

TEST_CASE("the training shape is checked against the plan", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["plan"] = Json{{"tp", 4}, {"dp", 2}};
  j["training"]["global_batch"] = 15;
  require_only(problems(j), "/training/global_batch",
               "global_batch = 15 is not divisible by dp x micro_batch = 2 x 1 = 2; expected a multiple of it");
}

TEST_CASE("the hardware checks its own cross-field rules", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["cluster"]["node"] = Json{{"base", "dgx-h100"}, {"nics_per_node", 16}};
  require_only(problems(j), "/cluster/node/nics_per_node", "more NICs (16) than GPUs (8) per node is not modelled");
  j = minimal_scenario();
  j["cluster"]["fabric"] = Json{{"switch_radix", 63}};
  require_only(problems(j), "/cluster/fabric/switch_radix",
               "switch radix must be even and at least 4 (half the ports go down, half up), got 63");
}

TEST_CASE("too few fabric tiers are rejected when loading", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["cluster"]["num_nodes"] = 8;
  j["cluster"]["fabric"] = Json{{"tiers", 1}};
  j["plan"] = Json{{"tp", 8}, {"dp", 8}};
  j["training"]["global_batch"] = 64;
  require_only(problems(j), "/cluster/fabric/tiers",
               "1 tier of radix-64 switches cannot connect 8 nodes of 8 NICs (rail-optimized); they need at least 2 "
               "tiers (or set tiers to 0)");
  // The tier rule needs only the counts: loading rejects it, before any network is built.
  CHECK_THROWS_AS(load(j), InputError);
}

TEST_CASE("learned positions bound the sequence length", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["model"] = "gpt3-1.3b";
  j["training"]["seq_len"] = 4096;
  j["plan"] = Json{{"tp", 1}, {"dp", 8}};
  require_only(problems(j), "/training/seq_len", "the model's learned positions cover 2048 tokens (max_seq_len), got 4096");
}

TEST_CASE("size guards keep a simulation tractable", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["training"] = Json{{"seq_len", 1048576}, {"global_batch", 32}, {"micro_batch", 32}};
  j["plan"] = Json{{"tp", 8}};
  require_only(problems(j), "/training/micro_batch",
               "seq_len x micro_batch = 33554432 tokens per micro-batch; at most 16777216 are supported");

  j = minimal_scenario();
  j["training"]["global_batch"] = 16777216;
  require_only(problems(j), "/training/global_batch",
               "16777216 micro-batches x 32 layers per stage = 536870912 layer passes per pipeline stage; at most "
               "262144 are supported (raise micro_batch or lower global_batch)");

  j = minimal_scenario();
  j["cluster"]["num_nodes"] = 1048576;
  j["plan"] = Json{{"tp", 8}, {"dp", 1048576}};
  j["training"]["global_batch"] = 1048576;
  const auto ds = problems(j);
  INFO(render(ds));
  REQUIRE_FALSE(ds.empty());
  CHECK(ds[0].path == "/cluster");
  CHECK(ds[0].message == "1048576 nodes x 8 GPUs = 8388608 GPUs; at most 1048576 are supported");
}

TEST_CASE("every problem is reported at once, section by section", "[scenarios][loader][reject]") {
  Json j = minimal_scenario();
  j["plan"]["tp"] = "8";
  j["training"]["precision"] = "bf16";
  j["cluster"]["node"] = "dgx-h1000";
  const auto ds = problems(j);
  INFO(render(ds));
  REQUIRE(ds.size() == 3);
  CHECK(ds[0].path == "/training/precision");
  CHECK(ds[1].path == "/plan/tp");
  CHECK(ds[2].path == "/cluster/node");
  // load_scenario throws one InputError carrying all of them.
  try {
    load(j);
    FAIL("load_scenario accepted a bad scenario");
  } catch (const InputError& e) {
    CHECK(e.diagnostics().size() == 3);
    CHECK(std::string(e.what()).find("/plan/tp: expected a positive integer, got \"8\" (string)") !=
          std::string::npos);
  }
}

TEST_CASE("an unreadable file is an input error naming it", "[scenarios][loader][reject]") {
  try {
    load_scenario_file("/nonexistent/dtsim/scenario.json", catalogs());
    FAIL("a missing file loaded");
  } catch (const InputError& e) {
    CHECK(e.path().empty());
    CHECK(e.message() == "cannot read '/nonexistent/dtsim/scenario.json': No such file or directory");
  }
  try {
    load_scenario_file(source_path("scenarios"), catalogs());
    FAIL("a directory loaded");
  } catch (const InputError& e) {
    CHECK(e.message() == "cannot read '" + source_path("scenarios") + "': it is a directory");
  }
}

// ---- defaults --------------------------------------------------------------------------------

TEST_CASE("omitted keys take the documented defaults", "[scenarios][loader][defaults]") {
  const Scenario s = load(minimal_scenario());
  const models::TrainingSpec& t = s.spec.training;
  CHECK(t.micro_batch == 1);
  CHECK(t.precision == models::PrecisionMode::kMegatronBf16);
  CHECK(t.recompute == models::Recompute::kNone);
  CHECK(t.clip_grad_norm);

  const models::ParallelPlan& p = s.spec.plan;
  const models::ParallelPlan fresh;
  CHECK(p.pp == 1);
  CHECK(p.dp == 1);
  CHECK(p.virtual_stages == 1);
  CHECK_FALSE(p.sequence_parallel);
  CHECK(p.zero_stage == 0);
  CHECK(p.schedule == models::PipelineSchedule::kOneFOneB);
  CHECK(p.order == fresh.order);
  CHECK(p.dp_bucket_size == Bytes(160'000'000));
  CHECK(p.overlap_grad_reduce);
  CHECK(p.fsdp_prefetch);
  CHECK(p.layers_per_stage.empty());

  const hardware::FabricSpec f = s.spec.cluster.fabric;
  const hardware::FabricSpec d = hardware::default_fabric();
  CHECK(f.kind == d.kind);
  CHECK(f.switch_radix == d.switch_radix);
  CHECK(f.tiers == d.tiers);
  CHECK(f.oversubscription == d.oversubscription);
  CHECK(f.switch_latency == d.switch_latency);
  CHECK(f.rail_optimized == d.rail_optimized);

  CHECK(s.spec.options.use_symmetry);
  CHECK(s.spec.options.algorithm == hardware::CollectiveAlgorithm::kAuto);
  CHECK(s.spec.options.event_limit == 2'000'000'000ULL);
  CHECK_FALSE(s.spec.options.record_timeline);

  CHECK(s.spec.calibration.name == "datasheet-defaults");
  CHECK(s.description.empty());
  CHECK(s.name == "t");
  CHECK(s.model_base == "llama3-8b");
  CHECK(s.node_base == "dgx-h100");
  CHECK(s.spec.model.name == "llama3-8b");
  CHECK(s.spec.cluster.node.name == "dgx-h100");
}

TEST_CASE("the scenario name defaults to the file name", "[scenarios][loader][defaults]") {
  Json j = minimal_scenario();
  j.erase("name");
  CHECK(load_scenario(j.dump(), catalogs(), "some/dir/my-plan.json").name == "my-plan");
  CHECK(load_scenario(j.dump(), catalogs()).name == "unnamed");
}

// ---- overrides -------------------------------------------------------------------------------

TEST_CASE("a built-in model with overrides keeps the rest", "[scenarios][loader][overrides]") {
  Json j = minimal_scenario();
  j["model"] = Json{{"base", "llama3-70b"}, {"num_layers", 40}};
  const Scenario s = load(j);
  const models::ModelSpec& base = *catalogs().models.find("llama3-70b");
  CHECK(s.spec.model.num_layers == 40);
  CHECK(s.spec.model.hidden == base.hidden);
  CHECK(s.spec.model.num_kv_heads == base.num_kv_heads);
  CHECK(s.spec.model.name == "llama3-70b (modified)");
  CHECK(s.model_base == "llama3-70b");

  j["model"] = Json{{"base", "llama3-70b"}, {"name", "half-70b"}, {"num_layers", 40}};
  CHECK(load(j).spec.model.name == "half-70b");
  j["model"] = Json{{"base", "llama3-70b"}};
  CHECK(load(j).spec.model.name == "llama3-70b");
}

TEST_CASE("a custom MLA model derives head_dim from its QK widths", "[scenarios][loader][overrides]") {
  Json j = minimal_scenario();
  j["model"] = Json{{"num_layers", 4},      {"hidden", 1024},          {"num_heads", 16},
                    {"ffn_hidden", 4096},   {"vocab_size", 32000},     {"attention", "mla"},
                    {"q_lora_rank", 256},   {"kv_lora_rank", 128},     {"qk_nope_head_dim", 64},
                    {"qk_rope_head_dim", 32}, {"v_head_dim", 48},      {"sliding_window", 512}};
  const Scenario s = load(j);
  const models::ModelSpec& m = s.spec.model;
  CHECK(m.attention == models::AttentionKind::kMla);
  CHECK(m.head_dim == 64 + 32);
  CHECK(m.num_kv_heads == 16);
  CHECK(m.mla.q_lora_rank == 256);
  CHECK(m.mla.v_head_dim == 48);
  CHECK(m.sliding_window == 512);  // MLA layers can be windowed too
}

TEST_CASE("a custom model takes its derived defaults", "[scenarios][loader][overrides]") {
  Json j = minimal_scenario();
  j["model"] = Json{{"num_layers", 4}, {"hidden", 1024}, {"num_heads", 16}, {"ffn_hidden", 4096},
                    {"vocab_size", 32000}, {"mlp", "gelu"}, {"norm", "layernorm"}, {"linear_bias", true}};
  const Scenario s = load(j);
  const models::ModelSpec& m = s.spec.model;
  CHECK(m.name == "custom");
  CHECK(m.num_kv_heads == 16);
  CHECK(m.head_dim == 64);
  CHECK(m.max_seq_len == 4096);
  CHECK(m.mlp == models::MlpKind::kGelu);
  CHECK(m.norm == models::NormKind::kLayerNorm);
  CHECK(m.position == models::PositionKind::kRotary);
  CHECK_FALSE(m.tied_embeddings);
  CHECK(m.linear_bias);
  CHECK(s.model_base.empty());
}

TEST_CASE("node and GPU overrides apply on their presets", "[scenarios][loader][overrides]") {
  Json j = minimal_scenario();
  j["plan"]["tp"] = 4;
  j["cluster"]["node"] = Json{{"base", "dgx-h100"},
                              {"gpus_per_node", 4},
                              {"gpu", Json{{"base", "h100-sxm"}, {"memory_capacity", "94 GiB"}}},
                              {"nic_bandwidth", "200 Gb/s"}};
  const Scenario s = load(j);
  const hardware::NodeSpec& n = s.spec.cluster.node;
  CHECK(n.gpus_per_node == 4);
  CHECK(n.nics_per_node == 4);  // one NIC per GPU, as the preset
  CHECK(n.nic_bandwidth.bytes_per_second() == Approx(25e9));
  CHECK(n.gpu.memory_capacity == Bytes(94LL << 30));
  CHECK(n.gpu.name == "h100-sxm (modified)");
  CHECK(n.name == "dgx-h100 (modified)");
  CHECK(n.nvlink_bandwidth == catalogs().hardware.find_node("dgx-h100")->nvlink_bandwidth);

  j["cluster"]["node"] = Json{{"base", "dgx-h100"}, {"gpus_per_node", 4}, {"gpu", "h200"}};
  const Scenario h = load(j);
  CHECK(h.spec.cluster.node.gpu.name == "h200");
  CHECK(h.spec.calibration.name == "datasheet-defaults");
}

TEST_CASE("cluster.host_slowdown scales every host time of the calibration", "[scenarios][loader][overrides]") {
  Json j = minimal_scenario();
  j["plan"] = Json{{"tp", 1}, {"dp", 8}, {"zero_stage", 3}};
  j["training"]["framework"] = "pytorch-eager";
  j["calibration"] = "h100-x1";
  const Scenario as_measured = load(j);
  CHECK(as_measured.spec.cluster.host_slowdown == 1.0);
  j["cluster"]["host_slowdown"] = 3;
  const Scenario slower = load(j);
  CHECK(slower.spec.cluster.host_slowdown == 3.0);
  // The scenario keeps the calibration as measured; simulate applies the factor.
  CHECK(slower.spec.calibration.host.kernel_launch == as_measured.spec.calibration.host.kernel_launch);
  sim::SimulationSpec explicit_scale = as_measured.spec;
  explicit_scale.calibration = hardware::with_host_time_scaled(as_measured.spec.calibration, 3.0);
  const sim::Report r = sim::simulate(slower.spec);
  CHECK(r.host_slowdown == 3.0);
  CHECK(r.step_time == sim::simulate(explicit_scale).step_time);
  CHECK(r.breakdown.host_wait >= sim::simulate(as_measured.spec).breakdown.host_wait);

  j["cluster"]["host_slowdown"] = 0;
  require_only(problems(j), "/cluster/host_slowdown", "expected a number >= 0.01 and at most 100, got 0 (number)");
  j["cluster"]["host_slowdown"] = "fast";
  require_only(problems(j), "/cluster/host_slowdown",
               "expected a number >= 0.01 and at most 100, got \"fast\" (string)");
}

TEST_CASE("fabric, simulation and plan settings are applied", "[scenarios][loader][overrides]") {
  Json j = minimal_scenario();
  j["cluster"]["num_nodes"] = 4;
  j["cluster"]["fabric"] = Json{{"kind", "roce"}, {"oversubscription", 2}, {"switch_latency", "500 ns"},
                                {"rail_optimized", false}};
  j["plan"] = Json{{"tp", 8}, {"pp", 2}, {"dp", 2}, {"virtual_stages", 2}, {"schedule", "interleaved-1f1b"},
                   {"sequence_parallel", true}, {"zero_stage", 1}, {"order", Json::array({"tp", "pp", "dp"})},
                   {"dp_bucket_size", "40 MiB"}, {"overlap_grad_reduce", false}};
  j["simulation"] = Json{{"symmetry", false}, {"collective_algorithm", "ring"}, {"event_limit", 1000}};
  j["training"]["recompute"] = "full";
  const Scenario s = load(j);
  CHECK(s.spec.cluster.fabric.kind == hardware::FabricKind::kRoce);
  CHECK(s.spec.cluster.fabric.oversubscription == 2.0);
  CHECK(s.spec.cluster.fabric.switch_latency == Duration::from_ps(500'000));
  CHECK_FALSE(s.spec.cluster.fabric.rail_optimized);
  const models::ParallelPlan& p = s.spec.plan;
  CHECK(p.pp == 2);
  CHECK(p.virtual_stages == 2);
  CHECK(p.schedule == models::PipelineSchedule::kInterleavedOneFOneB);
  CHECK(p.sequence_parallel);
  CHECK(p.zero_stage == 1);
  CHECK(p.order[1] == models::ParallelDim::kPipeline);
  CHECK(p.dp_bucket_size == Bytes(40LL << 20));
  CHECK_FALSE(p.overlap_grad_reduce);
  CHECK_FALSE(s.spec.options.use_symmetry);
  CHECK(s.spec.options.algorithm == hardware::CollectiveAlgorithm::kRing);
  CHECK(s.spec.options.event_limit == 1000);
  CHECK(s.spec.training.recompute == models::Recompute::kFull);
}

TEST_CASE("summary names model, cluster and plan", "[scenarios][loader]") {
  CHECK(summary(load(minimal_scenario())) ==
        "llama3-8b, seq 4096 x global batch 16, on 1 x dgx-h100 (8 x h100-sxm), TP 8 x PP 1 x DP 1, 16 micro-batches "
        "per replica");
}

TEST_CASE("recompute_modules: read in order, rejected with their JSON path", "[scenarios][loader][recompute]") {
  Json j = minimal_scenario();
  j["training"]["recompute"] = "selective";
  j["training"]["recompute_modules"] = Json::array({"layernorm", "core_attn"});
  const Scenario s = load(j);
  CHECK(s.spec.training.recompute_modules ==
        std::vector<models::RecomputeModule>{models::RecomputeModule::kLayerNorm,
                                             models::RecomputeModule::kCoreAttention});
  CHECK(load(minimal_scenario()).spec.training.recompute_modules.empty());

  j["training"]["recompute_modules"] = Json::array({"core_attn", "layrnorm"});
  require_only(problems(j), "/training/recompute_modules/1", "unknown value 'layrnorm'; did you mean 'layernorm'?");
  j["training"]["recompute_modules"] = Json::array({"core_attn", "moe"});
  require_only(problems(j), "/training/recompute_modules/1",
               "unknown value 'moe'; expected one of core_attn, layernorm, mla_up_proj, moe_act, mlp, shared_experts");
  j["training"]["recompute_modules"] = Json::array();
  require_only(problems(j), "/training/recompute_modules",
               "an empty list recomputes nothing; expected at least one module name (no recompute: recompute = "
               "\"none\"; the attention core only: leave recompute_modules out)");
  j["training"]["recompute_modules"] = Json::array({"core_attn", "mla_up_proj"});
  require_only(problems(j), "/training/recompute_modules/1",
               "mla_up_proj recomputes multi-head latent attention's up-projections, but model 'llama3-8b' has "
               "attention = mha; expected a model with attention = mla");
  j["training"]["recompute_modules"] = Json::array({"moe_act"});
  require_only(problems(j), "/training/recompute_modules/0",
               "moe_act recomputes the routed experts' activation, but model 'llama3-8b' has no experts "
               "(num_experts = 0); expected an MoE model");
  j["training"]["recompute_modules"] = Json::array({"layernorm"});
  j["training"]["recompute"] = "none";
  require_only(problems(j), "/training/recompute_modules",
               "recompute_modules = [\"layernorm\"] needs recompute = \"selective\", got \"none\"; expected "
               "recompute = \"selective\", or no recompute_modules");
  j["training"].erase("recompute");  // the default, none: the list does not turn selective on by itself
  require_only(problems(j), "/training/recompute_modules",
               "recompute_modules = [\"layernorm\"] needs recompute = \"selective\", got \"none\"; expected "
               "recompute = \"selective\", or no recompute_modules");
}
