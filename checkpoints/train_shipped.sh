#!/usr/bin/env bash
# Retrain the shipped generators and their d2l-recipe baselines exactly as checkpoints/README.md
# describes. Run from the repo root; the images come from ../shared/data (or SHARED=...).
# On the 2-core development CPU each run took about 50 minutes with two runs side by side.
set -euo pipefail
SHARED=${SHARED:-../shared/data}
PY=${PY:-.venv/bin/python}
export OMP_NUM_THREADS=1  # two runs side by side, one core each
export DCGAN_ANIME_FACES=$SHARED/anime_faces_64.zip
export DCGAN_POKEMON_URL=file://$(cd "$SHARED" && pwd)/pokemon.zip
export DCGAN_POKEMON_SHA1=$(sha1sum "$SHARED/pokemon.zip" | cut -d' ' -f1)
run() {  # dataset, out name, preset
  $PY -m dcgan.train --preset "$3" --dataset "$1" --ngf 32 --ndf 32 --batch-size 64 \
    --steps 2000 --flip --out "checkpoints/runs/$2" --export
}
run anime-faces anime paper & run pokemon pokemon paper & wait
run anime-faces anime-d2l d2l & run pokemon pokemon-d2l d2l & wait
cp checkpoints/runs/anime/generator.safetensors checkpoints/anime-faces.safetensors
cp checkpoints/runs/pokemon/generator.safetensors checkpoints/pokemon.safetensors
mkdir -p checkpoints/baselines
cp checkpoints/runs/anime-d2l/generator.safetensors checkpoints/baselines/anime-faces-d2l.safetensors
cp checkpoints/runs/pokemon-d2l/generator.safetensors checkpoints/baselines/pokemon-d2l.safetensors
for name in anime-faces pokemon; do
  $PY -m dcgan.sample --checkpoint checkpoints/$name.safetensors --n 64 --seed 0 \
    --out checkpoints/samples/$name.png
  $PY -m dcgan.sample --checkpoint checkpoints/baselines/$name-d2l.safetensors --n 64 --seed 0 \
    --out checkpoints/samples/$name-d2l.png
done
