#!/usr/bin/env bash
# The Space's ZeroGPU figures on a real GPU (space/gpu_check.py says which). Installs nothing:
# it takes the first python on this machine whose torch sees CUDA and has numpy, Pillow and
# safetensors, and says so plainly when there is none.
set -uo pipefail
cd "$(dirname "$0")/.."
for py in "${PYTHON:-}" python3 python python3.12 python3.11 python3.10 .venv/bin/python; do
  [ -n "$py" ] && command -v "$py" >/dev/null 2>&1 || continue
  if "$py" -c "import torch, numpy, PIL, safetensors; assert torch.cuda.is_available()" 2>/dev/null; then
    echo "python: $(command -v "$py") (torch $("$py" -c 'import torch; print(torch.__version__)'))"
    exec timeout 300 "$py" space/gpu_check.py
  fi
done
echo "no python here has torch with CUDA plus numpy, Pillow and safetensors:" >&2
for py in python3 python; do
  command -v "$py" >/dev/null 2>&1 && "$py" -c "import torch; print('$py', torch.__version__, 'cuda', torch.cuda.is_available())" 2>&1 | tail -1 >&2
done
exit 2
