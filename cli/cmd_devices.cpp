// `mixcl devices`: lists every device with its capabilities.
#include <fmt/format.h>

#include "backend/registry.h"
#include "cli/commands.h"

namespace mixcl::cli {

void add_devices_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("devices", "List every device (host and OpenCL) with its capabilities");
  cmd->callback([] {
    auto devices = backend::discover_devices();
    for (const auto& d : devices) {
      const auto& c = d->caps();
      fmt::print("{:8} {:6} {}  units={} mem={} isa={}\n", d->name(), c.type, c.name, c.compute_units,
                 format_bytes(c.global_mem_bytes), c.isa);
    }
  });
}

}  // namespace mixcl::cli
