// libtnrt_double_dlopen_interposer.so: a dlopen that only forwards to the next one, preloaded
// by options.test.ts. glibc resolves a bare-name dlopen against the RUNPATH of the object that
// called it, and with this (as with the ASan and TSan runtimes, which interpose dlopen the same
// way) that object is the interposer, not the adapter: the adapter's $ORIGIN RUNPATH no longer
// counts. It lets the plain suite prove that the adapter finds TensorRT's libraries without it.
#include <dlfcn.h>

extern "C" __attribute__((visibility("default"))) void* dlopen(const char* file, int mode) {
  using DlopenFn = void* (*)(const char*, int);
  static DlopenFn next = reinterpret_cast<DlopenFn>(dlsym(RTLD_NEXT, "dlopen"));
  return next ? next(file, mode) : nullptr;
}
