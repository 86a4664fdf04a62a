// Opening shared libraries for the life of the process, and finding one among directories:
// the addon opens the TensorRT adapter with it, the adapter opens TensorRT's builder resource,
// lean runtime and plugin libraries. Plain C++ and the platform loader (dlopen, LoadLibraryExW).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace tnrt {

// What opening a library gave: a handle that is never closed, or why not.
struct OpenedLibrary {
  void* handle = nullptr;
  // dlerror()'s text, or the Windows message with its error number.
  std::string error;
  // Windows only: the file exists but a DLL it depends on was not found (the message names
  // neither file). dlerror() names the missing library itself, so this stays false elsewhere.
  bool dependencyMissing = false;
};

// [sync] Opens `file` and keeps it open for the life of the process. Symbols stay out of the
// global namespace (RTLD_LOCAL). A full path on Windows has its own directory searched for its
// dependencies, so that DLLs beside it are found without PATH; a bare name is looked up by the
// platform's own search (LD_LIBRARY_PATH, ld.so.cache, RUNPATH; PATH on Windows). Never throws
// except std::bad_alloc.
OpenedLibrary openLibraryForever(const std::filesystem::path& file);

// [sync] The address of `name` in an opened library; null when it does not export it.
void* librarySymbol(void* handle, const char* name);

// [sync] The first of `dirs` that holds a file named `name`, as a full path; empty when none
// does (or none can be read).
std::filesystem::path findInDirectories(const std::vector<std::filesystem::path>& dirs, const std::string& name);

// "DIR" or "DIR1 or DIR2 ...", for messages that say where a library was looked for.
std::string describeDirectories(const std::vector<std::filesystem::path>& dirs);

#ifdef _WIN32
// The system's message for a Win32 error code, with the number: "The specified module could
// not be found (error 126)".
std::string windowsErrorText(unsigned long code);
#endif

}  // namespace tnrt
