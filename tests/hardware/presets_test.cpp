#include "dtsim/hardware/presets.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "dtsim/core/error.hpp"

using namespace dtsim;
using namespace dtsim::hardware;
using namespace dtsim::literals;
using Catch::Matchers::Contains;
using Catch::Matchers::WithinRel;

namespace {

double tf(FlopRate r) { return r.flops_per_second() / 1e12; }
double tbps(Bandwidth b) { return b.bytes_per_second() / 1e12; }
double gbps(Bandwidth b) { return b.bytes_per_second() / 1e9; }

}  // namespace

TEST_CASE("the catalog holds the five GPUs and five nodes, in order", "[presets]") {
  const HardwareCatalog hw = builtin_hardware();
  CHECK(hw.gpu_names() == std::vector<std::string>{"a100-80gb", "h100-sxm", "h200", "b200", "gb200", "h800"});
  CHECK(hw.node_names() ==
        std::vector<std::string>{"dgx-a100", "dgx-h100", "dgx-h200", "dgx-b200", "hgx-h800", "gb200-nvl72"});
  CHECK(hw.find_gpu("h100") == nullptr);
  CHECK(hw.find_node("dgx-h100")->gpu.name == "h100-sxm");
}

TEST_CASE("GPU presets equal the reference's datasheet figures (§1a, §1b)", "[presets]") {
  // Columns: bf16, fp8, fp32 TF/s; HBM TB/s; SMs; TDP W. B200/GB200 fp32:
  // the lower bound of the reference's 75-80 / 80-90.
  struct Row {
    const char* name;
    double bf16, fp8, fp32, hbm;
    int sms;
    double tdp;
    GpuArch arch;
  };
  const Row rows[] = {
      {"a100-80gb", 312, 0, 19.5, 2.039, 108, 400, GpuArch::kAmpere},
      {"h100-sxm", 989.4, 1978.9, 66.9, 3.35, 132, 700, GpuArch::kHopper},
      {"h200", 989.4, 1978.9, 66.9, 4.8, 132, 700, GpuArch::kHopper},
      {"b200", 2250, 4500, 75, 8.0, 148, 1000, GpuArch::kBlackwell},
      {"gb200", 2500, 5000, 80, 8.0, 148, 1200, GpuArch::kBlackwell},
      // The H800 is the H100 SXM die: its compute and memory figures.
      {"h800", 989.4, 1978.9, 66.9, 3.35, 132, 700, GpuArch::kHopper},
  };
  const HardwareCatalog hw = builtin_hardware();
  for (const Row& r : rows) {
    INFO(r.name);
    const GpuSpec* g = hw.find_gpu(r.name);
    REQUIRE(g != nullptr);
    CHECK_THAT(tf(g->peak_bf16), WithinRel(r.bf16, 1e-12));
    CHECK(tf(g->peak_fp8) == Approx(r.fp8).margin(1e-9));
    CHECK_THAT(tf(g->peak_fp32), WithinRel(r.fp32, 1e-12));
    CHECK_THAT(tbps(g->memory_bandwidth), WithinRel(r.hbm, 1e-12));
    CHECK(g->sm_count == r.sms);
    CHECK(g->tdp.watts() == r.tdp);
    CHECK(g->arch == r.arch);
    CHECK_THAT(g->source, Contains("reference §1a/§1b"));
  }
}

TEST_CASE("memory capacity is what CUDA reports, or 0.99 of the nominal GiB", "[presets][memory]") {
  const HardwareCatalog hw = builtin_hardware();
  // Measured CUDA totals (WP-DEV): H100 81079 MiB, H200 143156 MiB; A100 81049 MiB.
  CHECK(hw.find_gpu("h100-sxm")->memory_capacity == Bytes(85'017'493'504));
  CHECK(hw.find_gpu("h200")->memory_capacity == Bytes(150'109'880'320));
  CHECK(hw.find_gpu("h800")->memory_capacity == hw.find_gpu("h100-sxm")->memory_capacity);
  CHECK(hw.find_gpu("a100-80gb")->memory_capacity == 81049_MiB);
  // Estimates: 0.99 x 180 GiB and 0.99 x 186 GiB.
  CHECK(hw.find_gpu("b200")->memory_capacity.as_double() == Approx(0.99 * 180 * 1073741824.0).margin(1));
  CHECK(hw.find_gpu("gb200")->memory_capacity.as_double() == Approx(0.99 * 186 * 1073741824.0).margin(1));
  // The estimate rule reproduces the measured parts within 0.2%.
  CHECK(hw.find_gpu("h100-sxm")->memory_capacity.as_double() == Approx(0.99 * 80 * 1073741824.0).epsilon(0.002));
}

TEST_CASE("node presets: NVLink per GPU per direction and one NIC per GPU (§1b, §2a)", "[presets]") {
  struct Row {
    const char* name;
    int gpus;
    double nvlink_gbps;
    int nics;
    double nic_gbit;
  };
  const Row rows[] = {
      {"dgx-a100", 8, 300, 8, 200}, {"dgx-h100", 8, 450, 8, 400},      {"dgx-h200", 8, 450, 8, 400},
      {"dgx-b200", 8, 900, 8, 400}, {"gb200-nvl72", 72, 900, 72, 400},
      // H800: 400 GB/s bidirectional NVLink = 200 per direction.
      {"hgx-h800", 8, 200, 8, 400},
  };
  const HardwareCatalog hw = builtin_hardware();
  for (const Row& r : rows) {
    INFO(r.name);
    const NodeSpec* n = hw.find_node(r.name);
    REQUIRE(n != nullptr);
    CHECK(n->gpus_per_node == r.gpus);
    CHECK_THAT(gbps(n->nvlink_bandwidth), WithinRel(r.nvlink_gbps, 1e-12));
    CHECK(n->nics_per_node == r.nics);
    CHECK_THAT(gbps(n->nic_bandwidth) * 8, WithinRel(r.nic_gbit, 1e-12));
    // §2c: NVLink step 0.6 us (NCCL LL hop), adapter 0.6 us (HDR).
    CHECK(n->nvlink_latency == Duration::from_ps(600'000));
    CHECK(n->nic_latency == Duration::from_ps(600'000));
    CHECK(validate_cluster(ClusterSpec{*n, 4, default_fabric()}).empty());
  }
}

TEST_CASE("default fabric: NDR InfiniBand, radix 64, non-blocking, rail-optimized", "[presets][fabric]") {
  const FabricSpec f = default_fabric();
  CHECK(f.kind == FabricKind::kInfiniBand);
  CHECK(f.switch_radix == 64);
  CHECK(f.tiers == 0);
  CHECK(f.oversubscription == 1.0);
  CHECK(f.rail_optimized);
  // §2c: Quantum-2 port to port 0.15-0.4 us; the preset takes 0.3 us.
  CHECK(f.switch_latency == Duration::from_ps(300'000));
  CHECK(f.switch_latency >= Duration::from_ps(150'000));
  CHECK(f.switch_latency <= Duration::from_ps(400'000));
}

TEST_CASE("make_node sizes a node from the GPU's DGX preset", "[presets]") {
  const HardwareCatalog hw = builtin_hardware();
  const NodeSpec n = make_node(hw, "h100-sxm", 4);
  CHECK(n.gpus_per_node == 4);
  CHECK(n.nics_per_node == 4);
  CHECK(n.gpu.name == "h100-sxm");
  CHECK(n.nvlink_bandwidth == 450_GBps);
  CHECK(n.nic_bandwidth == 400_Gbps);
  CHECK(n.name == "dgx-h100/4gpu");
  const NodeSpec big = make_node(hw, "gb200", 36);
  CHECK(big.nvlink_bandwidth == 900_GBps);
  CHECK(big.nics_per_node == 36);
  CHECK(make_node(hw, "a100-80gb", 1).nics_per_node == 1);
}

TEST_CASE("make_node rejects unknown GPUs and empty nodes", "[presets][errors]") {
  const HardwareCatalog hw = builtin_hardware();
  try {
    make_node(hw, "h100", 8);
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(e.path() == "/cluster/node/gpu");
    CHECK(e.message() == "unknown GPU 'h100'; known: a100-80gb, h100-sxm, h200, b200, gb200, h800");
  }
  CHECK_THROWS_AS(make_node(hw, "h100-sxm", 0), InputError);
  HardwareCatalog lonely;
  GpuSpec g = *hw.find_gpu("h200");
  g.name = "mystery";
  lonely.add_gpu(g);
  CHECK_THROWS_WITH(make_node(lonely, "mystery", 8), Contains("no node preset uses GPU 'mystery'"));
}

TEST_CASE("a catalog refuses duplicate names", "[presets][errors]") {
  HardwareCatalog hw = builtin_hardware();
  CHECK_THROWS_WITH(hw.add_gpu(*hw.find_gpu("b200")), Contains("duplicate GPU name 'b200'"));
  CHECK_THROWS_WITH(hw.add_node(*hw.find_node("dgx-b200")), Contains("duplicate node name 'dgx-b200'"));
}

TEST_CASE("validate_cluster reports every problem with its path", "[presets][errors]") {
  ClusterSpec c{*builtin_hardware().find_node("dgx-h100"), 2, default_fabric()};
  c.node.gpu.sm_count = 0;
  c.node.nic_bandwidth = Bandwidth{};
  c.fabric.switch_radix = 63;
  c.fabric.oversubscription = 0.5;
  const auto d = validate_cluster(c);
  REQUIRE(d.size() == 4);
  CHECK(d[0].path == "/cluster/node/gpu/sm_count");
  CHECK(d[1].path == "/cluster/node/nic_bandwidth");
  CHECK(d[2].path == "/cluster/fabric/switch_radix");
  CHECK(d[3].path == "/cluster/fabric/oversubscription");
}

TEST_CASE("GPU architectures round-trip through their names", "[presets]") {
  for (const GpuArch a : {GpuArch::kGeneric, GpuArch::kAmpere, GpuArch::kHopper, GpuArch::kBlackwell}) {
    CHECK(parse_gpu_arch(to_string(a)) == a);
  }
  CHECK_FALSE(parse_gpu_arch("volta").has_value());
}
