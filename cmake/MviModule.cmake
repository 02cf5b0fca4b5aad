# One helper per kind of target, so every module and test is built the same way.

# mvi_module(NAME SOURCES... [DEPS targets...]): a static library mvi_<NAME> from src/<NAME>.
function(mvi_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(mvi_${name} STATIC ${ARG_SOURCES})
  target_include_directories(mvi_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(mvi_${name} PUBLIC ${ARG_DEPS})
endfunction()

# mvi_test(NAME SOURCES... DEPS targets... [BRIDGE]): a GoogleTest binary registered with ctest,
# labelled `unit` (no interpreter; `ctest -L unit` runs in seconds) or `bridge`. BRIDGE tests provide
# their own main() that owns the interpreter.
function(mvi_test name)
  cmake_parse_arguments(ARG "BRIDGE" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  if(ARG_BRIDGE)
    target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest)
  else()
    target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  endif()
  add_test(NAME ${name} COMMAND ${name})
  if(ARG_BRIDGE)
    set_tests_properties(${name} PROPERTIES TIMEOUT 300 LABELS bridge)
  else()
    set_tests_properties(${name} PROPERTIES TIMEOUT 300 LABELS unit)
  endif()
endfunction()
