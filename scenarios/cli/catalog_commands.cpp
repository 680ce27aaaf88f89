// dtsim list and dtsim describe: what a scenario can name, and every field it can hold.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cli_common.hpp"
#include "dtsim/core/unit_parse.hpp"
#include "dtsim/scenarios/parameters.hpp"
#include "dtsim/scenarios/scenario.hpp"

namespace dtsim::cli {

using namespace dtsim::scenarios;

namespace {

std::string padded(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

// The width of a name column: the longest name and two spaces.
std::size_t name_width(const std::vector<std::string>& names) {
  std::size_t w = 0;
  for (const std::string& n : names) w = std::max(w, n.size());
  return w + 2;
}

}  // namespace

int command_list(std::span<const std::string_view> args) {
  static constexpr std::string_view kWhat[] = {"models", "gpus", "nodes"};
  if (args.size() != 1) throw UsageError("list takes one of: models, gpus, nodes");
  const Catalogs c = builtin_catalogs();
  if (args[0] == "models") {
    const std::size_t width = name_width(c.models.names());
    for (const std::string& name : c.models.names()) {
      const models::ModelSpec& m = *c.models.find(name);
      char params[32];
      std::snprintf(params, sizeof params, "%.2f B", static_cast<double>(models::parameter_count(m)) / 1e9);
      std::cout << padded(name, width) << padded(params, 11) << m.num_layers << " layers, hidden " << m.hidden << ", "
                << m.num_heads << " heads (" << m.num_kv_heads << " KV), ";
      if (const std::string a = models::attention_summary(m); !a.empty()) std::cout << a << ", ";
      std::cout << "FFN " << m.ffn_hidden << ", vocab "
                << m.vocab_size << '\n';
    }
  } else if (args[0] == "gpus") {
    const std::size_t width = name_width(c.hardware.gpu_names());
    for (const std::string& name : c.hardware.gpu_names()) {
      const hardware::GpuSpec& g = *c.hardware.find_gpu(name);
      std::cout << padded(name, width) << format_flop_rate(g.peak_bf16) << " bf16, " << format_bytes(g.memory_capacity)
                << ", " << format_bandwidth(g.memory_bandwidth) << " HBM, " << g.sm_count << " SMs\n";
    }
  } else if (args[0] == "nodes") {
    const std::size_t width = name_width(c.hardware.node_names());
    for (const std::string& name : c.hardware.node_names()) {
      const hardware::NodeSpec& n = *c.hardware.find_node(name);
      std::cout << padded(name, width) << n.gpus_per_node << " x " << n.gpu.name << ", NVLink "
                << format_bandwidth(n.nvlink_bandwidth) << " per GPU, " << n.nics_per_node << " NICs x "
                << format_bandwidth(n.nic_bandwidth) << '\n';
    }
  } else {
    throw UsageError(with_hint("list", args[0], kWhat) + "; list takes models, gpus or nodes");
  }
  return kExitOk;
}

int command_describe(std::span<const std::string_view> args) {
  bool markdown = false;
  std::optional<std::string_view> wanted;
  for (const std::string_view a : args) {
    if (a == "--markdown") {
      markdown = true;
    } else if (a.size() > 1 && a[0] == '-') {
      throw UsageError("unknown option '" + std::string(a) + "' for 'describe'");
    } else if (!wanted) {
      wanted = a;
    } else {
      throw UsageError("unexpected argument '" + std::string(a) + "'; describe takes one section");
    }
  }
  const std::vector<Section> sections = scenario_sections();
  std::vector<const Section*> shown;
  if (wanted) {
    const Section* s = find_section(sections, *wanted);
    if (s == nullptr) {
      std::vector<std::string_view> names;
      std::string list;
      for (const Section& x : sections) {
        names.push_back(x.name);
        list += (list.empty() ? "" : ", ") + std::string(x.name);
      }
      throw UsageError(with_hint("section", *wanted, names) + "; sections: " + list);
    }
    shown.push_back(s);
  } else {
    for (const Section& s : sections) shown.push_back(&s);
  }
  for (std::size_t i = 0; i < shown.size(); ++i) {
    if (i > 0) std::cout << '\n';
    if (markdown) {
      std::string where = "top level";
      if (!shown[i]->pointer.empty()) where = std::string("`").append(shown[i]->pointer).append("`");
      std::cout << "### " << shown[i]->name << " (" << where << ")\n\n" << render_markdown(*shown[i]);
    } else {
      std::cout << render_text(*shown[i]);
    }
  }
  return kExitOk;
}

}  // namespace dtsim::cli
