#pragma once
// Helpers of the profile-run tests: the temp folder and the synthetic tiny-v3 model.
#include <filesystem>
#include <string>

namespace mixcl::scheduler::test {

/// Set once by main.
void set_temp_dir(const std::string& dir);
/// A tiny-v3 synthetic model with the default (Q4_K_M-like) types, written once per process.
const std::filesystem::path& tiny_v3_model();

}  // namespace mixcl::scheduler::test
