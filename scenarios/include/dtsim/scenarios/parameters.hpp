// The scenario format's parameters, declared once. Each section of a scenario
// file (training, plan, cluster/node, ...) has one table of its keys: type and
// unit, default, bounds and description. The same tables drive the loader
// (which keys exist, how each is parsed and checked, what an omitted key
// becomes), `dtsim describe`, and docs/scenario-format.md (a test checks that
// the document carries every table exactly as render_markdown prints it).
//
// Example:
//   for (const Section& s : scenario_sections()) std::cout << render_text(s);
//   const Section* plan = find_section("plan");
//   const Parameter* tp = plan->find("tp");   // tp->default_value == "1"
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dtsim::scenarios {

enum class ValueType : std::uint8_t {
  kInteger,       // JSON integer
  kNumber,        // JSON number
  kBoolean,       // true / false
  kString,        // free text
  kChoice,        // one string out of `choices`
  kDuration,      // "2.5 us"          (core parse_duration)
  kBytes,         // "80 GiB"          (core parse_bytes)
  kBandwidth,     // "400 Gb/s"        (core parse_bandwidth)
  kFlopRate,      // "989.4 TFLOP/s"   (core parse_flop_rate)
  kPower,         // "700 W"           (core parse_power)
  kIntegerList,   // array of integers, each within the bounds
  kChoiceList,    // array of strings out of `choices`
  kObject,        // a nested section
  kNameOrObject,  // a built-in's name, or a nested section
  kObjectList,    // array of objects, read by the section's own code (sweep axes)
};

// What an omitted key becomes.
enum class Presence : std::uint8_t {
  kRequired,  // must be given
  kDefault,   // default_value holds the JSON text it takes (parsed like user input)
  kFromBase,  // the value of the section's `base` (a built-in model or hardware preset)
  kDerived,   // computed from other values; default_value says how
};

// One allowed string of a kChoice / kChoiceList parameter and the enumerator
// it stands for.
struct NamedValue {
  std::string_view name;
  int value = 0;
};

inline constexpr double kUnbounded = std::numeric_limits<double>::max();

struct Parameter {
  std::string_view key{};
  ValueType type = ValueType::kString;
  Presence presence = Presence::kRequired;
  // kDefault: the default as JSON text ("1", "true", "\"160 MB\"");
  // kDerived: a phrase saying how it is computed.
  std::string_view default_value{};
  std::string_view description{};
  // Integers, numbers and list elements: inclusive bounds. Quantities are
  // never negative; min_exclusive with min 0 makes zero invalid too.
  double min = 0.0;
  double max = kUnbounded;
  bool min_exclusive = false;
  std::span<const NamedValue> choices{};
  // kObject / kNameOrObject: the section describing the object form.
  std::string_view section{};
};

struct Section {
  std::string_view name;     // "plan", "node", ...
  std::string_view pointer;  // where it sits in a scenario: "/plan", "/cluster/node"
  std::string_view summary;  // one paragraph: what the section says, how defaults work
  std::vector<Parameter> parameters;

  const Parameter* find(std::string_view key) const;
  std::vector<std::string_view> keys() const;
};

// Every section, in document order: scenario (top level), model, training,
// plan, cluster, node, gpu, fabric, simulation.
std::vector<Section> scenario_sections();
// nullptr when there is no such section.
const Section* find_section(const std::vector<Section>& sections, std::string_view name);

// "positive integer", "bandwidth (\"400 Gb/s\")", "one of: gelu, swiglu", ...
std::string type_text(const Parameter& p);
// "required", "1", "from base", or the derivation phrase.
std::string default_text(const Parameter& p);

// Plain-text rendering for `dtsim describe`.
std::string render_text(const Section& section);
// The Markdown table docs/scenario-format.md carries for this section.
std::string render_markdown(const Section& section);

}  // namespace dtsim::scenarios
