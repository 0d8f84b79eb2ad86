#!/usr/bin/env bash
# DeepSparse 1.8.0 in its own virtual environment (.venv-deepsparse, ignored by git): it pins
# numpy<2 and onnx<1.15, and its licence allows evaluation only, so Relief never depends on it.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! .venv-deepsparse/bin/python -c "import deepsparse" 2>/dev/null; then
  rm -rf .venv-deepsparse   # a broken or half-made one (a dangling link made `venv` fail with "File exists")
  python3 -m venv .venv-deepsparse
  .venv-deepsparse/bin/pip install -q "deepsparse==1.8.0" "numpy<2" "onnx<1.15"
fi
.venv-deepsparse/bin/python -c "import deepsparse; print('deepsparse', deepsparse.__version__)"
