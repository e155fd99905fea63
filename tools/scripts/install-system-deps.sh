#!/usr/bin/env bash
# System packages beyond npm: Debian's docker-registry (CNCF distribution 2.8, the real OCI
# registry the registry tests run against), htpasswd (apache2-utils) for its basic auth,
# libdnnl-dev (oneDNN 2.6, for the optional native kernels, built by `npm test`'s pretest),
# chromium (the headless browser the explanatory-graph HTML browser is tested in, driven by
# playwright-core, which downloads no browser of its own) and zsh (the generated zsh completion
# script is tested in it).
# Installs them with apt when missing; does nothing when they are there.
set -euo pipefail
if command -v docker-registry >/dev/null && command -v htpasswd >/dev/null && [ -f /usr/include/oneapi/dnnl/dnnl.hpp ] && command -v chromium >/dev/null && command -v zsh >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: run as root, or: sudo apt-get install docker-registry apache2-utils libdnnl-dev chromium darknet zsh" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends docker-registry apache2-utils libdnnl-dev chromium darknet zsh g++ make python3 >/dev/null
echo "install-system-deps: installed docker-registry, apache2-utils, libdnnl-dev, chromium, darknet (its sample photos) and zsh"
