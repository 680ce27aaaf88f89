#include <catch2/catch.hpp>

#include "dtsim/core/unit_parse.hpp"

using namespace dtsim;
using namespace dtsim::literals;

TEST_CASE("durations parse with and without space", "[units][parse]") {
  CHECK((*parse_duration("2.5 us")).ps() == 2500000);
  CHECK((*parse_duration("3ms")).ps() == 3000000000);
  CHECK((*parse_duration("1e-6 s")).ps() == 1000000);
}

TEST_CASE("bytes parse decimal and binary prefixes", "[units][parse]") {
  CHECK((*parse_bytes("80 GiB")).count() == 80LL * 1073741824LL);
  CHECK((*parse_bytes("141 GB")).count() == 141000000000LL);
  CHECK((*parse_bytes("0.5 KiB")).count() == 512);
}

TEST_CASE("bandwidth parses bits and bytes by case", "[units][parse]") {
  CHECK((*parse_bandwidth("400 Gb/s")).bytes_per_second() == Approx(50e9));
  CHECK((*parse_bandwidth("450 GB/s")).bytes_per_second() == Approx(450e9));
  CHECK((*parse_bandwidth("3.35 TB/s")).bytes_per_second() == Approx(3.35e12));
}

TEST_CASE("flop rates and power parse", "[units][parse]") {
  CHECK((*parse_flop_rate("989.4 TFLOP/s")).flops_per_second() == Approx(989.4e12));
  CHECK((*parse_power("700 W")).watts() == Approx(700.0));
}

TEST_CASE("bad quantities are rejected with a reason", "[units][parse][errors]") {
  const auto no_unit = parse_bandwidth("400");
  REQUIRE_FALSE(no_unit);
  CHECK(no_unit.error() == "a bandwidth needs a unit, such as '400 Gb/s'; got '400'");

  const auto bad_unit = parse_bandwidth("400 Gbit/s");
  REQUIRE_FALSE(bad_unit);
  CHECK_THAT(bad_unit.error(), Catch::Matchers::StartsWith("unknown unit 'Gbit/s' in '400 Gbit/s'; expected one of"));

  const auto negative = parse_duration("-2 us");
  REQUIRE_FALSE(negative);
  CHECK(negative.error() == "a duration must not be negative; got '-2 us'");

  const auto garbage = parse_bytes("lots");
  REQUIRE_FALSE(garbage);
  CHECK(garbage.error() == "expected a size such as '80 GiB', got 'lots'");

  const auto fractional = parse_bytes("1.5 B");
  REQUIRE_FALSE(fractional);
  CHECK(fractional.error() == "size '1.5 B' is not a whole number of bytes");

  CHECK_FALSE(parse_duration("nan s"));
  CHECK_FALSE(parse_duration("1e300 s"));
  CHECK_FALSE(parse_bytes(""));
}

TEST_CASE("formatting picks a readable unit", "[units][format]") {
  CHECK(format_duration(1250_us) == "1.250 ms");
  CHECK(format_bytes(80_GiB) == "80.00 GiB");
  CHECK(format_bandwidth(450_GBps) == "450.0 GB/s");
}
