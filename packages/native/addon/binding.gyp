{
  "targets": [
    {
      "target_name": "transplant_onednn",
      "sources": ["onednn.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "libraries": ["-ldnnl", "-lgomp"],
      "cflags_cc": ["-O3", "-std=c++17", "-fexceptions", "-fopenmp"],
      "cflags_cc!": ["-fno-exceptions"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"]
    }
  ]
}
