#pragma once
// A fresh temporary directory for one test, removed with everything in it when the test ends
// (tests/support/temp_dir.h).
#include "tests/support/temp_dir.h"

namespace mixcl::gguf::test {

using TempDir = ::mixcl::test::TempDir;

}  // namespace mixcl::gguf::test
