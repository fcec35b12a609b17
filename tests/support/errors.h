#pragma once
// Checking mixcl::Error messages in tests: the message of what a call throws, or a failure when it throws none.
#include <gtest/gtest.h>

#include <string>

#include "common/error.h"

namespace mixcl::test {

/// The message of the mixcl::Error that `f` throws, or "(no error)" when it returns normally.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

/// Expects `f` to throw a mixcl::Error whose message contains `needle`.
template <class F>
void expect_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace mixcl::test
