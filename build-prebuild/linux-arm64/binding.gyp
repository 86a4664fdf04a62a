{
  # The addon: N-API binding + backend interface + the CPU simulator. The TensorRT adapter is
  # NOT built here; CMakeLists.txt builds it (via cmake-js) where TensorRT is installed, and
  # the addon opens it at run time.
  "targets": [
    {
      "target_name": "tensorrt_node",
      "sources": [
        "<!@(node -p \"require('fs').readdirSync('native/binding').filter(f => f.endsWith('.cc')).map(f => 'native/binding/' + f).join(' ')\")",
        "<!@(node -p \"require('fs').readdirSync('native/backend').filter(f => f.endsWith('.cc')).map(f => 'native/backend/' + f).join(' ')\")",
        "<!@(node -p \"require('fs').readdirSync('native/calibration').filter(f => f.endsWith('.cc')).map(f => 'native/calibration/' + f).join(' ')\")",
        "<!@(node -p \"require('./scripts/sim-sources.cjs').join(' ')\")"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "native"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        # A call that throws while its worker_thread is being terminated cannot raise a JS
        # exception; without this node-addon-api rethrows in C++, which ends the process.
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions", "-frtti", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "libraries": ["-ldl"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17"
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1 }
      }
    }
  ]
}
