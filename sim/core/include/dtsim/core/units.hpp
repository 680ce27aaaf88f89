// Strong unit types for simulated time, data sizes, work and rates.
//
// Contract:
//  - Duration and TimePoint are int64 counts of picoseconds (2^63 ps ~ 106 days),
//    so event time is exact and comparisons are deterministic.
//  - Bytes is an int64 count of bytes. Flops is a double count of floating-point
//    operations. Bandwidth is bytes per second, FlopRate FLOP per second (doubles).
//  - Only meaningful arithmetic compiles: Bytes / Bandwidth -> Duration,
//    Flops / FlopRate -> Duration, Bytes / Duration -> Bandwidth.
//  - seconds_to_duration() is the one place a double number of seconds becomes
//    event time; it rounds to the nearest picosecond and saturates at
//    Duration::max() rather than overflowing.
//  - Decimal and binary prefixes are distinct: 1_GB = 1e9 B, 1_GiB = 2^30 B;
//    bits vs bytes by case in the parsers ("Gb/s" vs "GB/s").
//
// Example:
//   using namespace dtsim::literals;
//   Duration t = 256_MiB / 900_GBps + 2_us;
//   Bandwidth b = 400_Gbps;            // 50 GB/s
//   Duration c = Flops{2e12} / 989_TFLOPps;
#pragma once

#include <cmath>
#include <compare>
#include <cstdint>
#include <limits>

namespace dtsim {

class Duration {
 public:
  constexpr Duration() = default;
  static constexpr Duration from_ps(std::int64_t ps) { return Duration(ps); }
  static constexpr Duration zero() { return Duration(0); }
  static constexpr Duration max() { return Duration(std::numeric_limits<std::int64_t>::max()); }

  constexpr std::int64_t ps() const { return ps_; }
  constexpr double seconds() const { return static_cast<double>(ps_) * 1e-12; }
  constexpr double microseconds() const { return static_cast<double>(ps_) * 1e-6; }

  constexpr Duration& operator+=(Duration o) { ps_ += o.ps_; return *this; }
  constexpr Duration& operator-=(Duration o) { ps_ -= o.ps_; return *this; }
  friend constexpr Duration operator+(Duration a, Duration b) { return Duration(a.ps_ + b.ps_); }
  friend constexpr Duration operator-(Duration a, Duration b) { return Duration(a.ps_ - b.ps_); }
  friend constexpr Duration operator*(Duration a, std::int64_t k) { return Duration(a.ps_ * k); }
  friend constexpr Duration operator*(std::int64_t k, Duration a) { return Duration(a.ps_ * k); }
  friend constexpr Duration operator/(Duration a, std::int64_t k) { return Duration(a.ps_ / k); }
  friend constexpr double operator/(Duration a, Duration b) {
    return static_cast<double>(a.ps_) / static_cast<double>(b.ps_);
  }
  friend constexpr auto operator<=>(Duration, Duration) = default;

 private:
  constexpr explicit Duration(std::int64_t ps) : ps_(ps) {}
  std::int64_t ps_ = 0;
};

// The one conversion from a double number of seconds to event time.
// Rounds to the nearest picosecond; negative input is clamped to zero and
// non-finite or too-large input saturates to Duration::max().
constexpr Duration seconds_to_duration(double seconds) {
  if (!(seconds > 0.0)) return Duration::zero();  // also catches NaN
  const double ps = seconds * 1e12;
  if (ps >= 9.2e18) return Duration::max();
  return Duration::from_ps(static_cast<std::int64_t>(ps + 0.5));
}

// A point on the simulated clock, measured from the start of the simulation.
class TimePoint {
 public:
  constexpr TimePoint() = default;
  static constexpr TimePoint from_ps(std::int64_t ps) { return TimePoint(ps); }
  static constexpr TimePoint start() { return TimePoint(0); }
  constexpr std::int64_t ps() const { return ps_; }
  constexpr Duration since_start() const { return Duration::from_ps(ps_); }

  friend constexpr TimePoint operator+(TimePoint t, Duration d) { return TimePoint(t.ps_ + d.ps()); }
  friend constexpr Duration operator-(TimePoint a, TimePoint b) { return Duration::from_ps(a.ps_ - b.ps_); }
  constexpr TimePoint& operator+=(Duration d) { ps_ += d.ps(); return *this; }
  friend constexpr auto operator<=>(TimePoint, TimePoint) = default;

 private:
  constexpr explicit TimePoint(std::int64_t ps) : ps_(ps) {}
  std::int64_t ps_ = 0;
};

class Bytes {
 public:
  constexpr Bytes() = default;
  constexpr explicit Bytes(std::int64_t count) : count_(count) {}
  constexpr std::int64_t count() const { return count_; }
  constexpr double as_double() const { return static_cast<double>(count_); }

  constexpr Bytes& operator+=(Bytes o) { count_ += o.count_; return *this; }
  constexpr Bytes& operator-=(Bytes o) { count_ -= o.count_; return *this; }
  friend constexpr Bytes operator+(Bytes a, Bytes b) { return Bytes(a.count_ + b.count_); }
  friend constexpr Bytes operator-(Bytes a, Bytes b) { return Bytes(a.count_ - b.count_); }
  friend constexpr Bytes operator*(Bytes a, std::int64_t k) { return Bytes(a.count_ * k); }
  friend constexpr Bytes operator*(std::int64_t k, Bytes a) { return Bytes(a.count_ * k); }
  friend constexpr Bytes operator/(Bytes a, std::int64_t k) { return Bytes(a.count_ / k); }
  friend constexpr double operator/(Bytes a, Bytes b) { return a.as_double() / b.as_double(); }
  friend constexpr auto operator<=>(Bytes, Bytes) = default;

 private:
  std::int64_t count_ = 0;
};

// Scales a byte count by a real factor, rounding to the nearest byte
// (e.g. the (p-1)/p share of a ring all-reduce).
constexpr Bytes scale(Bytes b, double factor) {
  return Bytes(static_cast<std::int64_t>(std::llround(b.as_double() * factor)));
}

class Flops {
 public:
  constexpr Flops() = default;
  constexpr explicit Flops(double count) : count_(count) {}
  constexpr double count() const { return count_; }
  constexpr Flops& operator+=(Flops o) { count_ += o.count_; return *this; }
  friend constexpr Flops operator+(Flops a, Flops b) { return Flops(a.count_ + b.count_); }
  friend constexpr Flops operator-(Flops a, Flops b) { return Flops(a.count_ - b.count_); }
  friend constexpr Flops operator*(Flops a, double k) { return Flops(a.count_ * k); }
  friend constexpr Flops operator*(double k, Flops a) { return Flops(a.count_ * k); }
  friend constexpr double operator/(Flops a, Flops b) { return a.count_ / b.count_; }
  friend constexpr auto operator<=>(Flops, Flops) = default;

 private:
  double count_ = 0.0;
};

// Bytes per second.
class Bandwidth {
 public:
  constexpr Bandwidth() = default;
  static constexpr Bandwidth bytes_per_second(double v) { return Bandwidth(v); }
  constexpr double bytes_per_second() const { return bps_; }
  friend constexpr Bandwidth operator*(Bandwidth a, double k) { return Bandwidth(a.bps_ * k); }
  friend constexpr Bandwidth operator*(double k, Bandwidth a) { return Bandwidth(a.bps_ * k); }
  friend constexpr Bandwidth operator/(Bandwidth a, double k) { return Bandwidth(a.bps_ / k); }
  friend constexpr double operator/(Bandwidth a, Bandwidth b) { return a.bps_ / b.bps_; }
  friend constexpr Bandwidth operator+(Bandwidth a, Bandwidth b) { return Bandwidth(a.bps_ + b.bps_); }
  friend constexpr auto operator<=>(Bandwidth, Bandwidth) = default;

 private:
  constexpr explicit Bandwidth(double v) : bps_(v) {}
  double bps_ = 0.0;
};

// FLOP per second.
class FlopRate {
 public:
  constexpr FlopRate() = default;
  static constexpr FlopRate flops_per_second(double v) { return FlopRate(v); }
  constexpr double flops_per_second() const { return fps_; }
  friend constexpr FlopRate operator*(FlopRate a, double k) { return FlopRate(a.fps_ * k); }
  friend constexpr FlopRate operator*(double k, FlopRate a) { return FlopRate(a.fps_ * k); }
  friend constexpr double operator/(FlopRate a, FlopRate b) { return a.fps_ / b.fps_; }
  friend constexpr auto operator<=>(FlopRate, FlopRate) = default;

 private:
  constexpr explicit FlopRate(double v) : fps_(v) {}
  double fps_ = 0.0;
};

// Electrical power in watts (for energy estimates).
class Power {
 public:
  constexpr Power() = default;
  static constexpr Power watts(double w) { return Power(w); }
  constexpr double watts() const { return w_; }
  friend constexpr auto operator<=>(Power, Power) = default;

 private:
  constexpr explicit Power(double w) : w_(w) {}
  double w_ = 0.0;
};

constexpr Duration operator/(Bytes b, Bandwidth bw) { return seconds_to_duration(b.as_double() / bw.bytes_per_second()); }
constexpr Duration operator/(Flops f, FlopRate r) { return seconds_to_duration(f.count() / r.flops_per_second()); }
constexpr Bandwidth operator/(Bytes b, Duration d) { return Bandwidth::bytes_per_second(b.as_double() / d.seconds()); }
constexpr FlopRate operator/(Flops f, Duration d) { return FlopRate::flops_per_second(f.count() / d.seconds()); }

namespace literals {
// Time.
constexpr Duration operator""_ps(unsigned long long v) { return Duration::from_ps(static_cast<std::int64_t>(v)); }
constexpr Duration operator""_ns(unsigned long long v) { return Duration::from_ps(static_cast<std::int64_t>(v) * 1000); }
constexpr Duration operator""_us(unsigned long long v) { return Duration::from_ps(static_cast<std::int64_t>(v) * 1000000); }
constexpr Duration operator""_ms(unsigned long long v) { return Duration::from_ps(static_cast<std::int64_t>(v) * 1000000000); }
constexpr Duration operator""_s(unsigned long long v) { return Duration::from_ps(static_cast<std::int64_t>(v) * 1000000000000); }
constexpr Duration operator""_us(long double v) { return seconds_to_duration(static_cast<double>(v) * 1e-6); }
constexpr Duration operator""_ms(long double v) { return seconds_to_duration(static_cast<double>(v) * 1e-3); }
// Bytes: decimal and binary prefixes.
constexpr Bytes operator""_B(unsigned long long v) { return Bytes(static_cast<std::int64_t>(v)); }
constexpr Bytes operator""_KB(unsigned long long v) { return Bytes(static_cast<std::int64_t>(v) * 1000); }
constexpr Bytes operator""_MB(unsigned long long v) { return Bytes(static_cast<std::int64_t>(v) * 1000000); }
constexpr Bytes operator""_GB(unsigned long long v) { return Bytes(static_cast<std::int64_t>(v) * 1000000000); }
constexpr Bytes operator""_KiB(unsigned long long v) { return Bytes(static_cast<std::int64_t>(v) << 10); }
constexpr Bytes operator""_MiB(unsigned long long v) { return Bytes(static_cast<std::int64_t>(v) << 20); }
constexpr Bytes operator""_GiB(unsigned long long v) { return Bytes(static_cast<std::int64_t>(v) << 30); }
// Bandwidth: bytes (GBps) and bits (Gbps) per second.
constexpr Bandwidth operator""_GBps(unsigned long long v) { return Bandwidth::bytes_per_second(static_cast<double>(v) * 1e9); }
constexpr Bandwidth operator""_GBps(long double v) { return Bandwidth::bytes_per_second(static_cast<double>(v) * 1e9); }
constexpr Bandwidth operator""_TBps(long double v) { return Bandwidth::bytes_per_second(static_cast<double>(v) * 1e12); }
constexpr Bandwidth operator""_Gbps(unsigned long long v) { return Bandwidth::bytes_per_second(static_cast<double>(v) * 1e9 / 8.0); }
// Work and rates.
constexpr Flops operator""_GFLOP(unsigned long long v) { return Flops(static_cast<double>(v) * 1e9); }
constexpr Flops operator""_TFLOP(unsigned long long v) { return Flops(static_cast<double>(v) * 1e12); }
constexpr FlopRate operator""_TFLOPps(unsigned long long v) { return FlopRate::flops_per_second(static_cast<double>(v) * 1e12); }
constexpr FlopRate operator""_TFLOPps(long double v) { return FlopRate::flops_per_second(static_cast<double>(v) * 1e12); }
}  // namespace literals

}  // namespace dtsim
