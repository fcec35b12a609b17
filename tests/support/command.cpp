#include "tests/support/command.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "tests/support/temp_dir.h"

namespace mixcl::test {
namespace {

int exit_status(int raw) { return raw != -1 && WIFEXITED(raw) ? WEXITSTATUS(raw) : -1; }

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  r.status = exit_status(::pclose(pipe));
  return r;
}

const char* mixcl_binary() { return MIXCL_BINARY; }

CommandResult run_mixcl(const std::string& args) {
  return run_command(std::string(MIXCL_BINARY) + " " + args + " 2>&1");
}

CliResult run_mixcl_io(const std::string& args, const std::string& stdin_text) {
  const TempDir io("cli_io");
  {
    std::ofstream in(io / "stdin", std::ios::binary);
    in << stdin_text;
  }
  const std::string cmd = std::string(MIXCL_BINARY) + " " + args + " <" + shell_quote((io / "stdin").string()) +
                          " >" + shell_quote((io / "stdout").string()) + " 2>" +
                          shell_quote((io / "stderr").string());
  CliResult r;
  r.status = exit_status(std::system(cmd.c_str()));
  r.out = slurp(io / "stdout");
  r.err = slurp(io / "stderr");
  return r;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace mixcl::test
