#include "dtsim/scenarios/did_you_mean.hpp"

#include <algorithm>
#include <vector>

namespace dtsim::scenarios {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: a swap of two neighbours counts as one edit,
  // the most common typo in key names ("modle").
  a = a.substr(0, 64);
  b = b.substr(0, 64);
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1, 0));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::optional<std::string_view> closest_name(std::string_view name, std::span<const std::string_view> candidates) {
  // Short names tolerate one edit, longer ones up to three.
  const std::size_t budget = name.size() <= 3 ? 1 : name.size() <= 6 ? 2 : 3;
  std::optional<std::string_view> best;
  std::size_t best_distance = budget + 1;
  for (const std::string_view c : candidates) {
    const std::size_t dist = edit_distance(name, c);
    if (dist < best_distance) {
      best = c;
      best_distance = dist;
    }
  }
  return best;
}

}  // namespace dtsim::scenarios
