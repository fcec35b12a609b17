// Tensor classes of every deepseek2 tensor name (deepseek2.md §3), and the per-class totals.
#include <gtest/gtest.h>

#include "model/arch/tensor_class.h"
#include "model/gguf/gguf_file.h"
#include "model/gguf/gguf_writer.h"
#include "tests/model/gguf/temp_dir.h"

namespace mixcl::arch {
namespace {

TEST(TensorClass, Deepseek2Names) {
  const std::vector<std::pair<std::string, TensorClass>> cases = {
      {"token_embd.weight", TensorClass::Embedding},
      {"output.weight", TensorClass::Output},
      {"output_norm.weight", TensorClass::Norm},
      {"blk.0.attn_norm.weight", TensorClass::Norm},
      {"blk.12.ffn_norm.weight", TensorClass::Norm},
      {"blk.3.attn_q_a_norm.weight", TensorClass::Norm},
      {"blk.3.attn_kv_a_norm.weight", TensorClass::Norm},
      {"blk.3.attn_q_a.weight", TensorClass::Attention},
      {"blk.3.attn_q_b.weight", TensorClass::Attention},
      {"blk.3.attn_q.weight", TensorClass::Attention},
      {"blk.3.attn_kv_a_mqa.weight", TensorClass::Attention},
      {"blk.3.attn_k_b.weight", TensorClass::Attention},
      {"blk.3.attn_v_b.weight", TensorClass::Attention},
      {"blk.3.attn_kv_b.weight", TensorClass::Attention},
      {"blk.3.attn_output.weight", TensorClass::Attention},
      {"blk.0.ffn_gate.weight", TensorClass::DenseFfn},
      {"blk.0.ffn_up.weight", TensorClass::DenseFfn},
      {"blk.0.ffn_down.weight", TensorClass::DenseFfn},
      {"blk.5.ffn_gate_inp.weight", TensorClass::Router},
      {"blk.5.exp_probs_b.bias", TensorClass::Router},
      {"blk.5.ffn_gate_exps.weight", TensorClass::RoutedExperts},
      {"blk.5.ffn_up_exps.weight", TensorClass::RoutedExperts},
      {"blk.5.ffn_gate_up_exps.weight", TensorClass::RoutedExperts},
      {"blk.5.ffn_down_exps.weight", TensorClass::RoutedExperts},
      {"blk.5.ffn_gate_shexp.weight", TensorClass::SharedExperts},
      {"blk.5.ffn_up_shexp.weight", TensorClass::SharedExperts},
      {"blk.5.ffn_down_shexp.weight", TensorClass::SharedExperts},
      {"blk.61.nextn.eh_proj.weight", TensorClass::Other},
      {"blk.x.attn_q.weight", TensorClass::Other},
      {"rope_freqs.weight", TensorClass::Other},
  };
  for (const auto& [name, cls] : cases)
    EXPECT_EQ(tensor_class_name(classify_tensor(name)), tensor_class_name(cls)) << name;
}

TEST(TensorClass, TotalsCountParamsAndBytes) {
  gguf::test::TempDir dir;
  const auto path = dir / "m.gguf";
  gguf::GgufWriter w(path);
  const auto zero = [](uint64_t, uint64_t, uint8_t*) {};
  w.add_tensor("token_embd.weight", {64, 10}, DType::Q8_0, zero);          // 640 params, 10 * 68 bytes
  w.add_tensor("blk.0.ffn_up_exps.weight", {256, 4, 3}, DType::Q4_K, zero);  // 3072 params, 12 * 144 bytes
  w.add_tensor("blk.0.ffn_down_exps.weight", {32, 8, 3}, DType::Q8_0, zero);  // 768 params, 24 * 34 bytes
  w.add_tensor("blk.0.attn_norm.weight", {64}, DType::F32, zero);
  w.finish();
  const auto totals = tensor_class_totals(gguf::GgufFile::open(path));
  const auto& emb = totals[static_cast<size_t>(TensorClass::Embedding)];
  EXPECT_EQ(emb.tensors, 1u);
  EXPECT_EQ(emb.params, 640u);
  EXPECT_EQ(emb.bytes, 680u);
  const auto& exps = totals[static_cast<size_t>(TensorClass::RoutedExperts)];
  EXPECT_EQ(exps.tensors, 2u);
  EXPECT_EQ(exps.params, 3072u + 768u);
  EXPECT_EQ(exps.bytes, 12u * 144 + 24u * 34);
  EXPECT_EQ(totals[static_cast<size_t>(TensorClass::Norm)].bytes, 256u);
  EXPECT_EQ(totals[static_cast<size_t>(TensorClass::Attention)].tensors, 0u);
}

}  // namespace
}  // namespace mixcl::arch
