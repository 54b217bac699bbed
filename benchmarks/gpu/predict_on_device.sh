#!/usr/bin/env bash
# benchmarks/predict_pipeline.py on a GPU, sized for a 15-minute lease and a 64 MiB tree.
#
# What runs (each step under its own timeout, so one slow step cannot eat the lease):
#   0. versions and the GPU;
#   1. a SIZE x SIZE 1 m scene mosaicked from real imagery: IMAGES (the Massachusetts
#      tiles when present, else the bundled 1000² sample, roadseg/sample/scene.tif);
#   2. the shipped default model (2 m: resampled, the on-device area average and way back),
#      bf16, batch 64: stages (a)-(d);
#   3. the paper-width ResUNet (random weights, 1 m: no resampling), bf16, batch 64:
#      stages (a)-(d) again, one repeat.
# Figures land in $OUT (the device tool brings them back) or benchmarks/results/gpu.
#
# The device machine has torch but not rasterio/pyproj/affine: carry them as wheels in .whl/
# (fetch here once with `bash benchmarks/gpu/predict_on_device.sh --fetch-wheels`), run with
#   carry [".whl"], command: bash benchmarks/gpu/predict_on_device.sh, timeout_s 600.
# CPU check (what CI-like machines can run):  DEVICE=cpu SIZE=1000 BATCH=8 STEPS=2 \
#   bash benchmarks/gpu/predict_on_device.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=${PY:-python3}

if [[ "${1:-}" == "--fetch-wheels" ]]; then
  # .whl/ is in .gitignore: the wheels travel only when the device tool's carry names them
  for pkg in rasterio==1.4.3 affine==2.4.0 cligj==0.7.2 click-plugins==1.1.1.2 pyproj==3.7.1; do
    $PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
      --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
      --platform manylinux2014_x86_64 -d .whl "$pkg"
  done
  du -sh .whl
  exit 0
fi

# only where rasterio is missing (the device machine), from the carried wheels
if ! $PY -c "import rasterio, affine" 2>/dev/null && compgen -G ".whl/*.whl" > /dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
  export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi

DEVICE=${DEVICE:-cuda}
SIZE=${SIZE:-12000}
BATCH=${BATCH:-64}
STEPS=${STEPS:-3}
RESULTS=${OUT:-benchmarks/results/gpu}
mkdir -p "$RESULTS"
IMAGES=${IMAGES:-../shared/data/massachusetts_roads/train_subset/images}
[[ -d "$IMAGES" ]] || IMAGES=roadseg/sample/scene.tif
SCENE=${SCENE:-/tmp/roadseg_bench_scene_${SIZE}.tif}

echo "== 0. environment"
$PY - <<'PY'
import torch, rasterio
print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-",
      "rasterio", rasterio.__version__, "gdal", rasterio.__gdal_version__)
PY

echo "== 1. scene ${SIZE}² from $IMAGES"
[[ -f "$SCENE" ]] || timeout 180 $PY benchmarks/predict_pipeline.py --make-scene "$SCENE" \
  --images-dir "$IMAGES" --size "$SIZE"

if (( STEPS >= 2 )); then
  echo "== 2. shipped default model (2 m, resampled), bf16, batch $BATCH"
  timeout 240 $PY benchmarks/predict_pipeline.py --scene "$SCENE" --device "$DEVICE" \
    --amp bf16 --batch-size "$BATCH" --repeats 2 \
    --json "$RESULTS/predict_pipeline_default.json" | tee "$RESULTS/predict_pipeline_default.md"
fi
if (( STEPS >= 3 )); then
  echo "== 3. paper-width ResUNet (random weights, 1 m), bf16, batch $BATCH"
  timeout 240 $PY benchmarks/predict_pipeline.py --scene "$SCENE" --device "$DEVICE" \
    --arch paper --model-gsd 1.0 --amp bf16 --batch-size "$BATCH" --repeats 1 \
    --json "$RESULTS/predict_pipeline_paper.json" | tee "$RESULTS/predict_pipeline_paper.md"
fi
