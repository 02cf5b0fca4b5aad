// mvi-runtime entry point; everything happens in mvi::runtime::run.
#include "mvi/runtime/runtime.hpp"

int main(int argc, char** argv) { return mvi::runtime::run(argc, argv); }
