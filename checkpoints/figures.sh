#!/usr/bin/env bash
# Reproduce every quality figure in checkpoints/README.md (SWD x 1e3, seed 0, 2,048 images
# per set). Run from the repo root: bash checkpoints/figures.sh [anime-faces|pokemon ...]
# The real images come from ../shared/data (or set SHARED=/path/to/data).
set -euo pipefail
source "$(dirname "$0")/shared_data.sh"
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(anime-faces pokemon)
for name in "${names[@]}"; do
  m="$PY -m dcgan.metrics --real $name --n 2048 --seed 0 --json"
  echo "# $name"
  echo "shipped   $($m --checkpoint checkpoints/$name.safetensors)"
  echo "raw G     $($m --checkpoint checkpoints/baselines/$name-raw.safetensors)"  # no EMA
  echo "ema-2000  $($m --checkpoint checkpoints/baselines/$name-ema-2000.safetensors)"  # 1 Dec's
  echo "before    $($m --checkpoint checkpoints/baselines/$name-paper-2000.safetensors)"
  echo "untrained $($m --checkpoint checkpoints/$name.safetensors --untrained)"
  echo "d2l       $($m --checkpoint checkpoints/baselines/$name-d2l.safetensors)"
  echo "heldout   $($m --baseline heldout)"
  echo "noise     $($m --baseline noise)"
done
