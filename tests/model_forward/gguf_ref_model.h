#pragma once
// Turns a deepseek2 GGUF into the double-precision reference's model: every tensor dequantized to double with
// the host codecs, hyperparameters from the file's metadata.
#include <map>
#include <string>

#include "model/arch/deepseek2_config.h"
#include "tests/reference/deepseek2_reference.h"

namespace mixcl::gguf {
class GgufFile;
}

namespace mixcl::test {

/// The reference's hyperparameters for a config (YaRN's multiplier as the file stores it: 0.1 x mscale_all_dim).
reference::RefHparams ref_hparams(const arch::Deepseek2Config& config);

/// Every tensor of a GGUF in double, with the hyperparameters; model() views it (this object must outlive it).
struct GgufRefModel {
  reference::RefHparams hp;
  arch::Deepseek2Config config;  // as arch::from_gguf read it
  std::map<std::string, reference::RefTensor, std::less<>> tensors;

  /// The reference's view: hyperparameters and a lookup by GGUF name.
  reference::RefModel model() const;
};

/// Reads the hyperparameters (arch::from_gguf) and dequantizes every tensor of `file`; throws mixcl::Error
/// naming the tensor when a type cannot be decoded.
GgufRefModel load_ref_model(const gguf::GgufFile& file);

}  // namespace mixcl::test
