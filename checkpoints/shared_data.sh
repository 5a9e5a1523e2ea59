# Sourced by checkpoints/train_shipped.sh and figures.sh: the real images of the shipped
# generators come from ../shared/data (or SHARED=/path/to/data); PY is the Python to run.
SHARED=${SHARED:-../shared/data}
PY=${PY:-.venv/bin/python}
export DCGAN_ANIME_FACES=$SHARED/anime_faces_64.zip
export DCGAN_POKEMON_URL=file://$(cd "$SHARED" && pwd)/pokemon.zip
export DCGAN_POKEMON_SHA1=$(sha1sum "$SHARED/pokemon.zip" | cut -d' ' -f1)
