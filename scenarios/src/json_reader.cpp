#include "json_reader.hpp"

#include <algorithm>
#include <cstdio>
#include <unordered_set>
#include <utility>

namespace dtsim::scenarios::detail {
namespace {

// Error messages show at most this much of a user's string or key: a
// megabyte-long key must not turn into a megabyte-long diagnostic.
constexpr std::size_t kShownChars = 48;

bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0U) == 0x80U; }

// Cuts `s` to at most `n` bytes without splitting a UTF-8 sequence.
std::string_view shorten(std::string_view s, std::size_t n, bool& cut) {
  cut = s.size() > n;
  if (!cut) return s;
  std::size_t end = n;
  while (end > 0 && is_continuation_byte(s[end])) --end;
  return s.substr(0, end);
}

struct Position {
  std::size_t line = 1;
  std::size_t column = 1;
};

// nlohmann reports the byte offset just after the character it stopped at.
Position position_of(std::string_view text, std::size_t byte) {
  Position p;
  const std::size_t end = std::min(byte > 0 ? byte - 1 : 0, text.size());
  for (std::size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++p.line;
      p.column = 1;
    } else {
      ++p.column;
    }
  }
  return p;
}

std::string position_text(Position p) {
  return "line " + std::to_string(p.line) + ", column " + std::to_string(p.column);
}

// nlohmann's what() is "[json.exception.parse_error.101] parse error at line
// L, column C: syntax error while parsing X - detail". We recompute the
// position ourselves and keep only the detail, phrased as one sentence.
std::string syntax_detail(std::string_view what) {
  std::size_t at = what.find("column ");
  if (at != std::string_view::npos) at = what.find(": ", at);
  std::string_view detail = at == std::string_view::npos ? what : what.substr(at + 2);
  constexpr std::string_view kLead = "syntax error ";
  if (detail.substr(0, kLead.size()) == kLead) detail.remove_prefix(kLead.size());
  return printable(detail);
}

bool only_whitespace(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

// One open object or array while parsing: what has been seen in it so far,
// so that a duplicate key or a too-deep value can name its JSON pointer.
struct Frame {
  bool is_object = true;
  std::size_t index = 0;  // arrays: the element being parsed
  std::string key;        // objects: the member being parsed
  std::unordered_set<std::string> keys;
};

std::string path_of(const std::vector<Frame>& stack, std::size_t depth) {
  std::string path;
  for (std::size_t i = 0; i < depth; ++i) {
    path = stack[i].is_object ? child_path(path, stack[i].key) : child_path(path, stack[i].index);
  }
  return path;
}

}  // namespace

Json parse_json_document(std::string_view text) {
  if (only_whitespace(text)) throw InputError("", "the document is empty; expected a JSON object");

  std::vector<Frame> stack;
  const auto element_done = [&stack] {
    if (!stack.empty() && !stack.back().is_object) ++stack.back().index;
  };
  // The callback sees every structural event; throwing from it aborts the parse.
  const Json::parser_callback_t watch = [&](int, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (stack.size() >= static_cast<std::size_t>(kMaxJsonDepth)) {
          throw InputError(path_of(stack, stack.size()),
                           "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
        }
        stack.push_back(Frame{event == Json::parse_event_t::object_start, 0, {}, {}});
        break;
      case Json::parse_event_t::key: {
        Frame& f = stack.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second) {
          throw InputError(path_of(stack, stack.size() - 1), "duplicate key " + quote(f.key));
        }
        break;
      }
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        stack.pop_back();
        element_done();
        break;
      case Json::parse_event_t::value:
        element_done();
        break;
    }
    return true;
  };

  try {
    return Json::parse(text.begin(), text.end(), watch);
  } catch (const Json::parse_error& e) {
    throw InputError("", "JSON syntax error at " + position_text(position_of(text, e.byte)) + ": " +
                             syntax_detail(e.what()));
  } catch (const Json::out_of_range& e) {
    // "number overflow parsing '1e400'": locate the literal for the user.
    const std::string_view what = e.what();
    const std::size_t open = what.find('\'');
    const std::size_t close = what.rfind('\'');
    std::string message = "number out of range";
    if (open != std::string_view::npos && close > open) {
      const std::string_view literal = what.substr(open + 1, close - open - 1);
      message += ": " + printable(literal);
      const std::size_t where = text.find(literal);
      if (where != std::string_view::npos) message += " at " + position_text(position_of(text, where + 1));
    }
    throw InputError("", message + " (JSON numbers must fit a double)");
  } catch (const Json::exception& e) {
    throw InputError("", "invalid JSON: " + printable(e.what()));
  }
}

void Diagnostics::append(std::vector<Diagnostic> more) {
  for (auto& d : more) items_.push_back(std::move(d));
}

void Diagnostics::throw_if_any() const {
  if (!items_.empty()) throw InputError(items_);
}

std::string child_path(std::string_view path, std::string_view key) {
  std::string out(path);
  out += '/';
  bool cut = false;
  for (const char c : shorten(key, kShownChars, cut)) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else if (u < 0x20U || u == 0x7FU) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(u));
      out += buf;
    } else {
      out += c;
    }
  }
  if (cut) out += "...";
  return out;
}

std::string child_path(std::string_view path, std::size_t index) {
  return std::string(path) + '/' + std::to_string(index);
}

std::string_view type_name(const Json& v) {
  switch (v.type()) {
    case Json::value_t::object: return "object";
    case Json::value_t::array: return "array";
    case Json::value_t::string: return "string";
    case Json::value_t::boolean: return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: return "number";
    case Json::value_t::null: return "null";
    case Json::value_t::binary:
    case Json::value_t::discarded: break;
  }
  return "value";
}

std::string describe(const Json& v) {
  std::string shown;
  switch (v.type()) {
    case Json::value_t::object: shown = "{...}"; break;
    case Json::value_t::array: shown = "[...]"; break;
    case Json::value_t::string: {
      bool cut = false;
      const std::string& s = v.get_ref<const std::string&>();
      shown = Json(std::string(shorten(s, kShownChars, cut))).dump();
      if (cut) shown.insert(shown.size() - 1, "...");
      break;
    }
    default: shown = v.dump(); break;
  }
  return shown + " (" + std::string(type_name(v)) + ")";
}

std::string quote(std::string_view name) {
  bool cut = false;
  std::string out = "'";
  for (const char c : shorten(name, kShownChars, cut)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20U || u == 0x7FU) ? '?' : c;
  }
  if (cut) out += "...";
  out += '\'';
  return out;
}

std::string join(std::span<const std::string_view> names) {
  std::string out;
  for (const std::string_view n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::string join(const std::vector<std::string>& names) {
  std::vector<std::string_view> views(names.begin(), names.end());
  return join(views);
}

std::string unknown_name_hint(std::string_view name, std::span<const std::string_view> known,
                              std::string_view list_intro) {
  if (const auto hint = closest_name(name, known)) return "did you mean " + quote(*hint) + "?";
  return std::string(list_intro) + join(known);
}

void check_keys(const Json& object, std::string_view path, std::span<const std::string_view> known, Diagnostics& out) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    out.add(child_path(path, key), "unknown key; " + unknown_name_hint(key, known));
  }
}

std::string printable(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20U || u >= 0x7FU) c = '?';
  }
  return out;
}

}  // namespace dtsim::scenarios::detail
