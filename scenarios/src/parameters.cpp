#include "dtsim/scenarios/parameters.hpp"

#include <cstdio>

#include "scenario_tables.hpp"

namespace dtsim::scenarios {
namespace {

template <typename T, std::size_t N>
std::vector<Parameter> parameters_of(const std::array<detail::Field<T>, N>& fields) {
  std::vector<Parameter> out;
  out.reserve(N);
  for (const auto& f : fields) out.push_back(f.parameter);
  return out;
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

std::string choices_text(const Parameter& p) {
  std::string out;
  for (const NamedValue& c : p.choices) {
    if (!out.empty()) out += ", ";
    out += c.name;
  }
  return out;
}

// Built by appending: GCC 12 reports a false -Wrestrict on `"literal" + std::string`.
std::string range_text(const Parameter& p) {
  std::string out;
  if (p.min == p.max) {
    out.append(" ").append(number_text(p.min));
  } else if (p.max < kUnbounded) {
    out.append(", ").append(number_text(p.min)).append(" to ").append(number_text(p.max));
  } else {
    out.append(p.min_exclusive ? " > " : " >= ").append(number_text(p.min));
  }
  return out;
}

// Breaks `text` into lines of at most `width` characters, each after `indent`.
std::string wrap(std::string_view text, std::size_t indent, std::size_t width) {
  std::string out;
  std::string line;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view word = text.substr(pos, end - pos);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += std::string(indent, ' ') + line + '\n';
      line.clear();
    }
    if (!line.empty()) line += ' ';
    line += word;
    pos = end + 1;
  }
  if (!line.empty()) out += std::string(indent, ' ') + line + '\n';
  return out;
}

std::string escape_cell(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

const Parameter* Section::find(std::string_view key) const {
  for (const Parameter& p : parameters) {
    if (p.key == key) return &p;
  }
  return nullptr;
}

std::vector<std::string_view> Section::keys() const {
  std::vector<std::string_view> out;
  for (const Parameter& p : parameters) out.push_back(p.key);
  return out;
}

std::vector<Section> scenario_sections() {
  using namespace detail;
  std::vector<Section> s;
  s.push_back({"scenario", "", "The top level of a scenario file.", parameters_of(kScenarioFields)});
  s.push_back({"model", "/model",
               "The model: a built-in's name (\"llama3-70b\"), a built-in with overrides ({\"base\": "
               "\"llama3-70b\", \"num_layers\": 40}), or a custom model (no base; the required keys must be "
               "given). With a base, every key left out keeps the base's value; the defaults below apply to "
               "custom models.",
               parameters_of(kModelFields)});
  s.push_back({"training", "/training", "What one optimizer step processes, in which precision.",
               parameters_of(kTrainingFields)});
  s.push_back({"plan", "/plan",
               "The parallelism plan: how the step is split over GPUs. dp x tp x pp must equal the cluster's "
               "GPU count; the plan is then checked against the model and training shape (tp divides the "
               "heads, the layers split over the stages, the micro-batches fit the schedule).",
               parameters_of(kPlanFields)});
  s.push_back({"cluster", "/cluster", "The machines: identical nodes joined by a fat-tree fabric.",
               parameters_of(kClusterFields)});
  s.push_back({"node", "/cluster/node",
               "One node: a preset's name (\"dgx-h100\") or an object with a base preset and overrides. Keys "
               "left out keep the preset's values.",
               parameters_of(kNodeFields)});
  s.push_back({"gpu", "/cluster/node/gpu",
               "The node's GPU: a preset's name (\"h200\") or an object with a base preset and overrides. "
               "Keys left out keep the preset's values.",
               parameters_of(kGpuFields)});
  s.push_back({"fabric", "/cluster/fabric",
               "The scale-out network: a (rail-optimized) fat tree of identical switches. Left out entirely, "
               "it is the default below: non-blocking NDR InfiniBand of radix-64 switches.",
               parameters_of(kFabricFields)});
  s.push_back({"simulation", "/simulation", "How the replay runs; none of it changes the model of the step.",
               parameters_of(kSimulationFields)});
  s.push_back({"cost", "/cost",
               "What training costs, from the predicted step time: time to train `tokens`, GPU-hours, energy "
               "and money (docs/sweeps.md). Left out, none of these is computed.",
               parameters_of(kCostFields)});
  s.push_back({"sweep", "/sweep",
               "Many scenarios in one file: each point substitutes values at JSON pointers of this scenario, "
               "then loads like a scenario of its own (docs/sweeps.md). Read by `dtsim sweep` and `dtsim "
               "check`.",
               parameters_of(kSweepFields)});
  return s;
}

const Section* find_section(const std::vector<Section>& sections, std::string_view name) {
  for (const Section& s : sections) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::string type_text(const Parameter& p) {
  switch (p.type) {
    case ValueType::kInteger: return "integer" + range_text(p);
    case ValueType::kNumber: return "number" + range_text(p);
    case ValueType::kBoolean: return "boolean";
    case ValueType::kString: return "string";
    case ValueType::kChoice: return "one of " + choices_text(p);
    case ValueType::kDuration: return "duration (\"2.5 us\")";
    case ValueType::kBytes: return p.min_exclusive ? "size > 0 (\"80 GiB\")" : "size (\"80 GiB\")";
    case ValueType::kBandwidth: return p.min_exclusive ? "bandwidth > 0 (\"400 Gb/s\")" : "bandwidth (\"400 Gb/s\")";
    case ValueType::kFlopRate:
      return p.min_exclusive ? "FLOP rate > 0 (\"989.4 TFLOP/s\")" : "FLOP rate (\"989.4 TFLOP/s\")";
    case ValueType::kPower: return p.min_exclusive ? "power > 0 (\"700 W\")" : "power (\"700 W\")";
    case ValueType::kIntegerList: return "array of integers" + range_text(p);
    case ValueType::kChoiceList: return "array of " + choices_text(p);
    case ValueType::kObject: return "object (section " + std::string(p.section) + ")";
    case ValueType::kNameOrObject: return "name or object (section " + std::string(p.section) + ")";
    case ValueType::kObjectList: return "array of objects";
  }
  return "?";
}

std::string default_text(const Parameter& p) {
  switch (p.presence) {
    case Presence::kRequired: return "required";
    case Presence::kDefault: return std::string(p.default_value);
    case Presence::kFromBase: return "from base";
    case Presence::kDerived: return std::string(p.default_value);
  }
  return "?";
}

std::string render_text(const Section& section) {
  std::string out = std::string(section.name) + "  (" +
                    (section.pointer.empty() ? std::string("top level") : std::string(section.pointer)) + ")\n";
  out += wrap(section.summary, 2, 76);
  for (const Parameter& p : section.parameters) {
    out += "\n  " + std::string(p.key) + "\n";
    out += wrap(type_text(p) + "; default: " + default_text(p), 6, 72);
    out += wrap(p.description, 6, 72);
  }
  return out;
}

std::string render_markdown(const Section& section) {
  std::string out = "| key | type | default | description |\n|---|---|---|---|\n";
  for (const Parameter& p : section.parameters) {
    std::string def = default_text(p);
    if (p.presence == Presence::kDefault) def = std::string("`").append(def).append("`");
    out += "| `" + std::string(p.key) + "` | " + escape_cell(type_text(p)) + " | " + escape_cell(def) + " | " +
           escape_cell(p.description) + " |\n";
  }
  return out;
}

}  // namespace dtsim::scenarios
