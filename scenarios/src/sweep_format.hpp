// Text formatting shared by the sweep, plan and check outputs (private to
// scenarios/): aligned columns and the units their cells are shown in.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dtsim/scenarios/sweep.hpp"

namespace dtsim::scenarios::detail {

// Columns padded to their widest cell, two spaces apart; numbers (cells of a
// column whose `right` flag is set) aligned right. Header first, then a rule.
std::string render_columns(const std::vector<std::string>& headers, const std::vector<bool>& right,
                           const std::vector<std::vector<std::string>>& rows);

// "1.23", "12.3 k", "4.56 M", "7.89 G": three significant digits.
std::string si(double v);
// "%.*f".
std::string fixed(double v, int decimals);
// "3.2 h", "12.5 d".
std::string format_long_time(double seconds);
// The shortest text that reads back as the same double (JSON number syntax).
std::string exact_number(double v);
// A sweep value for a table cell: strings without their quotes, others as JSON.
std::string display_value(const std::string& json_text);
// Column headers for axis paths: the last token, or the whole path where two
// axes end in the same token.
std::vector<std::string> axis_headers(const std::vector<std::string>& paths);
// "tp=8 pp=4 schedule=1f1b" for a point.
std::string point_label(const std::vector<std::string>& headers, const std::vector<std::string>& values);

}  // namespace dtsim::scenarios::detail
