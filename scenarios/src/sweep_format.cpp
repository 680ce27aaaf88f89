#include "sweep_format.hpp"

#include <cmath>
#include <cstdio>
#include <map>

#include "json_reader.hpp"

namespace dtsim::scenarios::detail {

std::string render_columns(const std::vector<std::string>& headers, const std::vector<bool>& right,
                           const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(headers.size());
  for (std::size_t c = 0; c < headers.size(); ++c) width[c] = headers[c].size();
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < headers.size(); ++c) {
      const std::string& cell = c < cells.size() ? cells[c] : std::string();
      const std::size_t pad = width[c] - std::min(width[c], cell.size());
      if (c > 0) out += "  ";
      if (right[c]) out.append(pad, ' ');
      out += cell;
      if (!right[c] && c + 1 < headers.size()) out.append(pad, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + '\n';
  };
  std::string out = line(headers);
  std::size_t total = 0;
  for (std::size_t c = 0; c < width.size(); ++c) total += width[c] + (c > 0 ? 2 : 0);
  out.append(total, '-').push_back('\n');
  for (const auto& row : rows) out += line(row);
  return out;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string si(double v) {
  static constexpr std::pair<double, const char*> kPrefixes[] = {{1e12, " T"}, {1e9, " G"}, {1e6, " M"}, {1e3, " k"}};
  for (const auto& [scale, prefix] : kPrefixes) {
    if (std::fabs(v) >= scale) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.3g", v / scale);
      return std::string(buf).append(prefix);
    }
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

std::string format_long_time(double seconds) {
  if (seconds >= 86400.0 * 2) return fixed(seconds / 86400.0, 1).append(" d");
  if (seconds >= 3600.0) return fixed(seconds / 3600.0, 1).append(" h");
  if (seconds >= 60.0) return fixed(seconds / 60.0, 1).append(" min");
  return fixed(seconds, 1).append(" s");
}

std::string exact_number(double v) {
  DTSIM_CHECK(std::isfinite(v), "a sweep output number is not finite");
  return Json(v).dump();
}

std::string display_value(const std::string& json_text) {
  const Json v = Json::parse(json_text, nullptr, false);
  if (v.is_string()) return v.get<std::string>();
  return json_text;
}

std::vector<std::string> axis_headers(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  std::map<std::string, int> uses;
  for (const std::string& p : paths) out.push_back(p.substr(p.rfind('/') + 1));
  for (const std::string& h : out) ++uses[h];
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (uses[out[i]] > 1) out[i] = paths[i];
  }
  return out;
}

std::string point_label(const std::vector<std::string>& headers, const std::vector<std::string>& values) {
  std::string out;
  for (std::size_t i = 0; i < headers.size() && i < values.size(); ++i) {
    if (!out.empty()) out.push_back(' ');
    out.append(headers[i]).append("=").append(display_value(values[i]));
  }
  return out;
}

}  // namespace dtsim::scenarios::detail
