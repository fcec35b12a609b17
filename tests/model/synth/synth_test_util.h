#pragma once
// Helpers shared by the synth tests: a per-test temporary directory and whole-file reads.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace mixcl::synth::testing {

/// A fresh directory under the system temp dir, removed with everything in it when the object dies.
using TempDir = ::mixcl::test::TempDir;

/// The whole file as bytes.
inline std::vector<char> read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace mixcl::synth::testing
