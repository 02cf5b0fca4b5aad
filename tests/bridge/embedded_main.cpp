// main() of every bridge test: starts the interpreter the build linked (whatever python3 is first on
// PATH or PYTHONHOME says), with no signal handlers so Ctrl-C still stops the binary, puts the
// source tree's mvi package first on sys.path, and runs the tests on the main thread holding the GIL.
#include <gtest/gtest.h>

#include <pybind11/embed.h>

#include <cstdio>

#ifndef MVI_TEST_PYTHON_EXECUTABLE
#error "MVI_TEST_PYTHON_EXECUTABLE must name the Python the build linked"
#endif
#ifndef MVI_TEST_PYTHON_HOME
#error "MVI_TEST_PYTHON_HOME must name that Python's prefix"
#endif
#ifndef MVI_TEST_PYTHON_PACKAGE_DIR
#error "MVI_TEST_PYTHON_PACKAGE_DIR must name the folder holding the mvi package"
#endif

namespace py = pybind11;

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.install_signal_handlers = 0;
  config.parse_argv = 0;
  PyStatus status = PyConfig_SetBytesString(&config, &config.program_name, MVI_TEST_PYTHON_EXECUTABLE);
  if (!PyStatus_Exception(status)) status = PyConfig_SetBytesString(&config, &config.home, MVI_TEST_PYTHON_HOME);
  if (PyStatus_Exception(status)) {
    PyConfig_Clear(&config);
    std::fprintf(stderr, "cannot configure Python: %s\n", status.err_msg ? status.err_msg : "unknown");
    return 1;
  }
  py::scoped_interpreter interpreter(&config, 0, nullptr, false);
  py::module_::import("sys").attr("path").attr("insert")(0, MVI_TEST_PYTHON_PACKAGE_DIR);
  return RUN_ALL_TESTS();
}
