#!/usr/bin/env bash
# Reproduce every figure in docs/LAB.md. Run from the repo root:
#   bash docs/lab/figures.sh [memorisation|arithmetic]   (default: both)
# The real images come from ../shared/data (or set SHARED=/path/to/data); the shapes runs go
# to RUN (default /tmp/shapes-new) and are trained first when absent (a few minutes).
set -euo pipefail
SHARED=${SHARED:-../shared/data}
PY=${PY:-.venv/bin/python}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export DCGAN_ANIME_FACES=$SHARED/anime_faces_64.zip
export DCGAN_POKEMON_URL=file://$(cd "$SHARED" && pwd)/pokemon.zip
export DCGAN_POKEMON_SHA1=$(sha1sum "$SHARED/pokemon.zip" | cut -d' ' -f1)
what=${1:-all}
if [[ $what == all || $what == memorisation ]]; then
  for name in pokemon anime-faces; do
    m="$PY -m dcgan.memorisation checkpoints/$name.safetensors --n 512 --heldout 512 --seed 0 --json"
    echo "# $name"
    echo "shipped   $($m)"
    echo "untrained $($m --untrained)"
    echo "replay    $($m --replay)"
  done
fi
if [[ $what == all || $what == arithmetic ]]; then
  RUN=${RUN:-/tmp/shapes-new}
  if [ ! -f "$RUN/last.pt" ]; then
    $PY docs/lab/train_shapes.py --out "$RUN" --steps 2000 --precision fp32 \
      --at 0 100 250 500 750 1000 1250 1500 1750 2000
  fi
  $PY -m dcgan.attributes "$RUN"/step-*.safetensors --seed 0 --json || true
fi
