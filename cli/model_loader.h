#pragma once
// Shared by run and eval: the model flags, opening and checking a deepseek2 GGUF, building its executor on the
// selected devices with a load progress display, and the per-device memory summary.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "cli/device_select.h"
#include "model/gguf/gguf_file.h"
#include "scheduler/executor.h"

namespace mixcl::cli {

/// Flags every model command takes.
struct ModelFlags {
  std::string model;      // -m
  uint32_t context = 0;   // -c; 0: the command's default
  uint32_t batch = 512;   // -b
  std::string kv_type;    // --kv-type f16|f32; "": the profile's, else f16
  std::string weight_memory;  // --weight-memory mapped|huge_pages; "": the profile's, else mapped
  DeviceFlags devices;
};

/// Adds -m, -c, -b, --kv-type and the device flags to `cmd`.
void add_model_flags(CLI::App* cmd, ModelFlags& flags);

/// Opens `path` and checks it is a deepseek2 model; throws mixcl::Error saying what is wrong otherwise.
std::unique_ptr<gguf::GgufFile> open_deepseek2(const std::string& path);

/// A model ready to run: the file, its devices and the executor (declared in destruction-safe order).
struct LoadedModel {
  std::unique_ptr<gguf::GgufFile> file;
  SelectedDevices devices;
  std::unique_ptr<scheduler::Executor> executor;
  double load_seconds = 0;
};

/// Selects devices and loads `file` with a KV cache of `context` positions (a progress bar for large models).
LoadedModel load_model(std::unique_ptr<gguf::GgufFile> file, const ModelFlags& flags, uint32_t context);

/// Writes one line per device (weights, mapped, KV cache, scratch, peak of budget) to stderr.
void print_memory_report(const scheduler::Executor& executor);

}  // namespace mixcl::cli
