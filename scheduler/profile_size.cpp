// Byte sizes in profiles: "24GiB", "512MB", "1.5TB", "4096".
#include <fmt/format.h>

#include <cctype>
#include <string_view>

#include "common/error.h"
#include "scheduler/profile.h"

namespace mixcl::scheduler {
namespace {

struct Unit {
  std::string_view name;  // canonical spelling
  uint64_t bytes;
};
constexpr uint64_t kKi = 1024, kK = 1000;
constexpr Unit kUnits[] = {
    {"B", 1},
    {"KiB", kKi}, {"MiB", kKi * kKi}, {"GiB", kKi * kKi * kKi}, {"TiB", kKi * kKi * kKi * kKi},
    {"kB", kK}, {"MB", kK * kK}, {"GB", kK * kK * kK}, {"TB", kK * kK * kK * kK},
};

bool same_ci(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

[[noreturn]] void not_a_size(const std::string& text, const std::string& where, std::string_view why) {
  fail("{}: found '{}', expected a size such as 24GiB, 512MB, 1.5TB or 4096 (bytes){}{}; units: B, KiB, MiB, GiB, "
       "TiB (powers of 1024), kB, MB, GB, TB (powers of 1000)",
       where, text, why.empty() ? "" : "; ", why);
}

}  // namespace

uint64_t parse_size(const std::string& text, const std::string& where) {
  std::string_view s = text;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  if (!s.empty() && s.front() == '-') not_a_size(text, where, "a size cannot be negative");
  // Exact decimal arithmetic: mantissa / 10^frac_digits, so 1.5TB is exactly 1500000000000.
  unsigned __int128 mantissa = 0, scale = 1;
  size_t i = 0, int_digits = 0, frac_digits = 0;
  for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, ++int_digits) {
    mantissa = mantissa * 10 + static_cast<unsigned>(s[i] - '0');
    if (mantissa > (static_cast<unsigned __int128>(1) << 80)) not_a_size(text, where, "the number is too large");
  }
  if (i < s.size() && s[i] == '.') {
    for (++i; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, ++frac_digits) {
      if (frac_digits >= 18) not_a_size(text, where, "too many decimals");
      mantissa = mantissa * 10 + static_cast<unsigned>(s[i] - '0');
      scale *= 10;
    }
  }
  if (int_digits + frac_digits == 0) not_a_size(text, where, "");
  std::string_view unit = s.substr(i);
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.front()))) unit.remove_prefix(1);
  uint64_t multiplier = 1;
  if (!unit.empty()) {
    bool found = false;
    for (const auto& u : kUnits)
      if (same_ci(unit, u.name)) multiplier = u.bytes, found = true;
    if (!found) not_a_size(text, where, fmt::format("unknown unit '{}'", unit));
  }
  // Fractions of a byte are dropped.
  const unsigned __int128 bytes = mantissa * multiplier / scale;
  if (bytes > UINT64_MAX) not_a_size(text, where, "the size does not fit in 64 bits");
  return static_cast<uint64_t>(bytes);
}

std::string format_size(uint64_t bytes) {
  if (bytes == 0) return "0";
  uint64_t best_value = bytes;
  std::string_view best_unit = "";
  for (const auto& u : kUnits) {
    if (u.bytes == 1 || bytes % u.bytes != 0) continue;
    if (bytes / u.bytes < best_value) best_value = bytes / u.bytes, best_unit = u.name;
  }
  return fmt::format("{}{}", best_value, best_unit);
}

}  // namespace mixcl::scheduler
