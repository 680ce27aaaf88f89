// The strict JSON reader's vocabulary (paths, value descriptions, hints) and
// the deterministic JSON writer.
#include <catch2/catch.hpp>

#include "dtsim/scenarios/did_you_mean.hpp"
#include "json_reader.hpp"
#include "json_writer.hpp"

using namespace dtsim;
using namespace dtsim::scenarios;
using namespace dtsim::scenarios::detail;

TEST_CASE("child paths escape JSON pointer specials and stay printable", "[scenarios][json_reader]") {
  CHECK(child_path("", "plan") == "/plan");
  CHECK(child_path("/plan", "tp") == "/plan/tp");
  CHECK(child_path("/a", "x/y~z") == "/a/x~1y~0z");
  CHECK(child_path("/a", std::string("k\n\x01", 3)) == "/a/k\\u000a\\u0001");
  CHECK(child_path("/a", std::size_t{3}) == "/a/3");
  // A key longer than 48 bytes is shortened.
  CHECK(child_path("", std::string(200, 'k')) == std::string("/").append(48, 'k').append("..."));
}

TEST_CASE("values are described with their type", "[scenarios][json_reader]") {
  CHECK(describe(Json("8")) == "\"8\" (string)");
  CHECK(describe(Json(8)) == "8 (number)");
  CHECK(describe(Json(8.5)) == "8.5 (number)");
  CHECK(describe(Json(true)) == "true (boolean)");
  CHECK(describe(Json(nullptr)) == "null (null)");
  CHECK(describe(Json::object()) == "{...} (object)");
  CHECK(describe(Json::array()) == "[...] (array)");
  CHECK(describe(Json("a\"b")) == "\"a\\\"b\" (string)");
  CHECK(describe(Json(std::string(100, 'x'))) == std::string("\"").append(48, 'x').append("...\" (string)"));
  // Shortening never splits a UTF-8 sequence ("µ" is two bytes).
  std::string micro;
  for (int i = 0; i < 30; ++i) micro += "\xC2\xB5";
  CHECK(describe(Json(micro)) == std::string("\"").append(micro, 0, 48).append("...\" (string)"));
}

TEST_CASE("edit distance counts a swap as one edit and ignores case", "[scenarios][json_reader]") {
  CHECK(edit_distance("model", "model") == 0);
  CHECK(edit_distance("modle", "model") == 1);
  CHECK(edit_distance("bandwith", "bandwidth") == 1);
  CHECK(edit_distance("TP", "tp") == 0);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("closest_name suggests only likely typos", "[scenarios][json_reader]") {
  const std::string_view keys[] = {"tp", "pp", "dp", "virtual_stages", "nic_bandwidth"};
  CHECK(closest_name("tpp", keys) == std::optional<std::string_view>("tp"));
  CHECK(closest_name("virtual_stage", keys) == std::optional<std::string_view>("virtual_stages"));
  CHECK(closest_name("nic_bandwith", keys) == std::optional<std::string_view>("nic_bandwidth"));
  CHECK_FALSE(closest_name("zero", keys).has_value());
  CHECK_FALSE(closest_name("xyz", keys).has_value());
}

TEST_CASE("check_keys reports each unknown key at its own path", "[scenarios][json_reader]") {
  const std::string_view known[] = {"tp", "pp"};
  Diagnostics d;
  check_keys(Json::parse(R"({"tp": 1, "tq": 2, "other": 3})"), "/plan", known, d);
  REQUIRE(d.size() == 2);
  CHECK(d.items()[0].path == "/plan/other");
  CHECK(d.items()[0].message == "unknown key; expected one of tp, pp");
  CHECK(d.items()[1].path == "/plan/tq");
  CHECK(d.items()[1].message == "unknown key; did you mean 'tp'?");
}

TEST_CASE("syntax errors carry line and column and stay printable", "[scenarios][json_reader]") {
  try {
    parse_json_document("{\n  \"a\": \"\xff\"\n}");
    FAIL("invalid UTF-8 parsed");
  } catch (const InputError& e) {
    CHECK(e.path().empty());
    CHECK(e.message().rfind("JSON syntax error at line 2, column 9: while parsing value - invalid string: "
                            "ill-formed UTF-8 byte",
                            0) == 0);
    for (const char c : e.message()) CHECK(static_cast<unsigned char>(c) < 0x80U);
  }
}

TEST_CASE("nesting up to the limit parses", "[scenarios][json_reader]") {
  std::string ok(kMaxJsonDepth, '[');
  ok += std::string(kMaxJsonDepth, ']');
  CHECK_NOTHROW(parse_json_document(ok));
  std::string deep(kMaxJsonDepth + 1, '[');
  deep += std::string(kMaxJsonDepth + 1, ']');
  CHECK_THROWS_AS(parse_json_document(deep), InputError);
}

TEST_CASE("duplicate keys inside arrays name the array element", "[scenarios][json_reader]") {
  try {
    parse_json_document(R"({"a": [{"x": 1}, {"x": 1, "x": 2}]})");
    FAIL("a duplicate key parsed");
  } catch (const InputError& e) {
    CHECK(e.path() == "/a/1");
    CHECK(e.message() == "duplicate key 'x'");
  }
}

TEST_CASE("the writer is deterministic and valid JSON", "[scenarios][json_writer]") {
  JsonWriter w(2);
  w.begin_object();
  w.key("s").string("a\"b\\c\n\x01");
  w.key("d").number(0.1);
  w.key("big").number(1.0e21);
  w.key("nan").number(std::nan(""));
  w.key("i").integer(-42);
  w.key("u").unsigned_integer(18446744073709551615ULL);
  w.key("b").boolean(false);
  w.key("e").begin_array().end_array();
  w.key("o").begin_object().end_object();
  w.key("a").begin_array().integer(1).null().end_array();
  w.end_object();
  const std::string text = w.take();
  CHECK(text ==
        "{\n  \"s\": \"a\\\"b\\\\c\\n\\u0001\",\n  \"d\": 0.1,\n  \"big\": 1e+21,\n  \"nan\": null,\n  \"i\": -42,\n"
        "  \"u\": 18446744073709551615,\n  \"b\": false,\n  \"e\": [],\n  \"o\": {},\n  \"a\": [\n    1,\n    null\n"
        "  ]\n}");
  const Json back = Json::parse(text);
  CHECK(back["s"] == "a\"b\\c\n\x01");
  CHECK(back["nan"].is_null());

  JsonWriter compact;
  compact.begin_object().key("x").begin_array().integer(1).integer(2).end_array().end_object();
  CHECK(compact.text() == "{\"x\":[1,2]}");
}

TEST_CASE("the writer refuses malformed sequences", "[scenarios][json_writer]") {
  JsonWriter w;
  w.begin_object();
  CHECK_THROWS_AS(w.integer(1), InternalError);  // a member without a key
  JsonWriter a;
  a.begin_array();
  CHECK_THROWS_AS(a.key("x"), InternalError);
  CHECK_THROWS_AS(a.end_object(), InternalError);
}
