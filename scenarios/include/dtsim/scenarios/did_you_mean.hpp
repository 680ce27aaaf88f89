// Suggestions for mistyped names: scenario keys, enumerated values, built-in
// model and hardware names, CLI commands.
//
// Example:
//   const std::string_view keys[] = {"bandwidth", "latency"};
//   closest_name("bandwith", keys);   // "bandwidth"
//   closest_name("zzz", keys);        // nullopt: nothing is close enough
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace dtsim::scenarios {

// Edit distance counting insertions, deletions, substitutions and swaps of
// neighbouring characters as one edit each, ignoring ASCII case. Only the
// first 64 characters of each name count. O(|a| |b|).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The first of the nearest candidates, when it is a likely typo: at most 1
// edit away for names of up to 3 characters, 2 up to 6, 3 beyond.
std::optional<std::string_view> closest_name(std::string_view name, std::span<const std::string_view> candidates);

}  // namespace dtsim::scenarios
