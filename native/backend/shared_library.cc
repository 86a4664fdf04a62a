#include "shared_library.h"

#include <system_error>

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace tnrt {

#ifdef _WIN32
std::string windowsErrorText(unsigned long code) {
  wchar_t* text = nullptr;
  const DWORD n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                                 nullptr, code, 0, reinterpret_cast<wchar_t*>(&text), 0, nullptr);
  std::string out;
  if (n && text) {
    const int bytes = WideCharToMultiByte(CP_UTF8, 0, text, static_cast<int>(n), nullptr, 0, nullptr, nullptr);
    if (bytes > 0) {
      out.resize(static_cast<size_t>(bytes));
      WideCharToMultiByte(CP_UTF8, 0, text, static_cast<int>(n), &out[0], bytes, nullptr, nullptr);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == ' ' || out.back() == '.')) out.pop_back();
  }
  if (text) LocalFree(text);
  return (out.empty() ? std::string("Windows error") : out) + " (error " + std::to_string(code) + ")";
}

OpenedLibrary openLibraryForever(const std::filesystem::path& file) {
  OpenedLibrary opened;
  // LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR needs a full path; a bare name keeps the default search.
  const DWORD flags = file.has_parent_path() ? LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR | LOAD_LIBRARY_SEARCH_DEFAULT_DIRS : 0;
  HMODULE module = LoadLibraryExW(file.wstring().c_str(), nullptr, flags);
  if (module) {
    opened.handle = reinterpret_cast<void*>(module);
    return opened;
  }
  const DWORD code = GetLastError();
  // ERROR_MOD_NOT_FOUND names neither file: when the file itself exists (else
  // ERROR_FILE_NOT_FOUND would come first), a DLL it depends on is missing.
  std::error_code ec;
  opened.dependencyMissing = code == ERROR_MOD_NOT_FOUND && file.has_parent_path() && std::filesystem::exists(file, ec);
  opened.error = windowsErrorText(code);
  return opened;
}

void* librarySymbol(void* handle, const char* name) {
  return reinterpret_cast<void*>(GetProcAddress(reinterpret_cast<HMODULE>(handle), name));
}
#else
OpenedLibrary openLibraryForever(const std::filesystem::path& file) {
  OpenedLibrary opened;
  (void)dlerror();  // a stale message would be mistaken for this call's
  // RTLD_LOCAL: being loaded is what serves a later dlopen of the same soname; the symbols
  // need not join the global namespace.
  opened.handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!opened.handle) {
    const char* error = dlerror();
    opened.error = error ? error : "unknown error";
  }
  return opened;
}

void* librarySymbol(void* handle, const char* name) { return dlsym(handle, name); }
#endif

std::filesystem::path findInDirectories(const std::vector<std::filesystem::path>& dirs, const std::string& name) {
  for (const std::filesystem::path& dir : dirs) {
    std::filesystem::path file = dir / name;
    std::error_code ec;
    if (std::filesystem::exists(file, ec)) return file;
  }
  return {};
}

std::string describeDirectories(const std::vector<std::filesystem::path>& dirs) {
  std::string out;
  for (const std::filesystem::path& dir : dirs) out += (out.empty() ? "" : " or ") + dir.string();
  return out;
}

}  // namespace tnrt
