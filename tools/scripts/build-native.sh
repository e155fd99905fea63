#!/usr/bin/env bash
# Builds the optional oneDNN addon when Debian's libdnnl-dev is installed and the build is out
# of date; otherwise says why the native kernels are off and succeeds (everything works
# without them, on plain wasm).
set -euo pipefail
cd "$(dirname "$0")/../../packages/native"
if [ ! -f /usr/include/oneapi/dnnl/dnnl.hpp ]; then
  echo "build-native: libdnnl-dev is not installed; oneDNN kernels are off (apt-get install libdnnl-dev to enable them)"
  exit 0
fi
out=addon/build/Release/transplant_onednn.node
if [ -f "$out" ] && [ "$out" -nt addon/onednn.cc ] && [ "$out" -nt addon/binding.gyp ]; then
  exit 0
fi
echo "build-native: building the oneDNN addon"
npx --no-install node-gyp rebuild --nodedir=/usr --directory=addon >/dev/null
echo "build-native: built $out"
