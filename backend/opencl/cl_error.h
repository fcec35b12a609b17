#pragma once
// OpenCL error codes as names, and the conversion of cl::Error into mixcl::Error.
#include <CL/opencl.hpp>
#include <string>
#include <string_view>

#include "common/error.h"

namespace mixcl::backend {

/// "CL_OUT_OF_RESOURCES" for -5; "CL_ERROR(-9999)" for codes not in the table.
std::string cl_error_name(int code);

/// A mixcl::Error for a failed OpenCL call: "device <device>: <call> failed: <NAME> (<code>)<hint>".
Error cl_failure(std::string_view device, std::string_view call, int code, std::string_view hint = {});

}  // namespace mixcl::backend
