#pragma once
// Running shell commands and the built mixcl binary from tests, with the exit status and what they printed.
#include <string>

namespace mixcl::test {

/// Exit status (-1 when the command could not run or did not exit normally) and captured stdout.
struct CommandResult {
  int status = -1;
  std::string output;
};

/// Exit status and separately captured stdout and stderr of one run of the binary.
struct CliResult {
  int status = -1;
  std::string out, err;
};

/// Runs `command` through /bin/sh and captures its stdout (stderr is left alone: redirect it in `command`).
CommandResult run_command(const std::string& command);

/// Path of the mixcl binary the tests were built with (MIXCL_BINARY).
const char* mixcl_binary();

/// Runs `mixcl <args>` through the shell (quote args yourself) with stderr folded into the output.
CommandResult run_mixcl(const std::string& args);

/// Runs `mixcl <args>` with `stdin_text` as stdin, capturing stdout and stderr apart (through temp files).
CliResult run_mixcl_io(const std::string& args, const std::string& stdin_text = "");

/// `s` single-quoted for /bin/sh.
std::string shell_quote(const std::string& s);

}  // namespace mixcl::test
