#pragma once
// The one exception type of mixcl's libraries; the CLI turns it into a message and a non-zero exit.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace mixcl {

/// An error with its context (file, offset, tensor, device, ...) already written into the message.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Throws mixcl::Error with a fmt-formatted message.
template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

/// Formats a byte count as "1.50 GiB" / "512.0 KiB" for messages and tables.
std::string format_bytes(uint64_t bytes);

}  // namespace mixcl
