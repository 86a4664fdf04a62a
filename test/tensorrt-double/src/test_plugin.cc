// A plugin library for the double's tests: it exports the entry point TensorRT looks for in a
// plugin library, and (for the double, which cannot ask real creators their names) the names of
// the plugins it provides. Its one plugin, TnrtDoubleTestOp, computes as Identity in the double.
#include <cstdint>

#define DOUBLE_EXPORT extern "C" __attribute__((visibility("default")))

DOUBLE_EXPORT void* const* getPluginCreators(int32_t& nbCreators) {
  nbCreators = 0;
  return nullptr;
}

DOUBLE_EXPORT const char* tnrt_double_plugin_names() { return "TnrtDoubleTestOp"; }
