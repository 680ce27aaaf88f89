#include <catch2/catch.hpp>

#include "dtsim/core/units.hpp"

using namespace dtsim;
using namespace dtsim::literals;

TEST_CASE("time literals are exact picosecond counts", "[units]") {
  CHECK((1_us).ps() == 1000000);
  CHECK((2_ms + 3_us).ps() == 2003000000);
  CHECK((1_s) / (1_ms) == Approx(1000.0));
  CHECK((2.5_us).ps() == 2500000);
}

TEST_CASE("seconds_to_duration rounds to nearest ps and saturates", "[units]") {
  CHECK(seconds_to_duration(1.5e-12).ps() == 2);
  CHECK(seconds_to_duration(-1.0) == Duration::zero());
  CHECK(seconds_to_duration(1e300) == Duration::max());
}

TEST_CASE("decimal and binary byte prefixes differ", "[units]") {
  CHECK((1_GB).count() == 1000000000);
  CHECK((1_GiB).count() == 1073741824);
  CHECK((1_KiB * 3).count() == 3072);
}

TEST_CASE("bytes over bandwidth is a duration", "[units]") {
  // 256 MiB at 900 GB/s: 268435456 / 9e11 s = 298.26 us; plus 2 us.
  const Duration t = 256_MiB / 900_GBps + 2_us;
  CHECK(t.seconds() == Approx(268435456.0 / 900e9 + 2e-6).epsilon(1e-9));
  // bits vs bytes: 400 Gb/s is 50 GB/s.
  CHECK((400_Gbps).bytes_per_second() == Approx(50e9));
}

TEST_CASE("flops over flop rate is a duration", "[units]") {
  // 989.4 TFLOP of work at 989.4 TFLOP/s is one second.
  const Duration t = Flops(989.4e12) / 989.4_TFLOPps;
  CHECK(t.seconds() == Approx(1.0));
}

TEST_CASE("scale rounds to nearest byte", "[units]") {
  // ring all-reduce share (p-1)/p for p = 3 of 10 bytes: 6.67 -> 7
  CHECK(scale(10_B, 2.0 / 3.0).count() == 7);
}
