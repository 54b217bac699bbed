#!/usr/bin/env bash
# The model card's figures: the shipped (or given) model on the held-out Massachusetts tiles,
# scored by `roadseg evaluate` (relaxed P/R and break-even, rho = 3), white no-imagery pixels
# excluded and included.
#
#   bash pipelines/evaluate_heldout.sh [SUBSET_DIR] [WEIGHTS] [WORK_DIR]
#
# SUBSET_DIR holds images/ and masks/ (default ../shared/data/massachusetts_roads/train_subset);
# WEIGHTS (a file or a shipped model's name) defaults to the installed default model. The tiles are ingested with the derived EPSG:26986
# georeferencing (1 m), so the predictor resamples them to the model's GSD and writes back at 1 m.
set -euo pipefail
subset=${1:-../shared/data/massachusetts_roads/train_subset}
weights=${2:-}
work=${3:-work_data/heldout}
tiles=$(tail -n +2 data_manifests/massachusetts_holdout.csv | cut -d, -f1)
mkdir -p "$work/images" "$work/masks" "$work/pred"
for t in $tiles; do
  ln -sf "$(realpath "$subset/images/$t.png")" "$work/images/$t.png"
  ln -sf "$(realpath "$subset/masks/$t.png")" "$work/masks/$t.png"
done
roadseg -q data massachusetts --root "$work/ds" --from-local "$work/images" "$work/masks" --georeference --no-progress
preds=(); labels=(); scenes=()
for t in $tiles; do
  roadseg -q predict "$work/ds/train/sat/$t.tif" -o "$work/pred/$t.tif" ${weights:+--weights "$weights"} --no-progress
  preds+=("$work/pred/$t.tif"); labels+=("$work/ds/train/map/$t.tif"); scenes+=("$work/ds/train/sat/$t.tif")
done
# precision/recall/IoU at the model's own calibrated threshold (the level the pipeline uses)
thr=$(python -c "import sys; from roadseg.models.checkpoint import read_meta, resolve_weights; \
print(read_meta(resolve_weights(sys.argv[1] or None)).threshold or 0.5)" "$weights")
echo "## white no-imagery pixels excluded (threshold $thr)"
roadseg -q evaluate --pred "${preds[@]}" --labels "${labels[@]}" --scene "${scenes[@]}" --exclude-white --threshold "$thr" --json "$work/report_white_excluded.json"
echo "## all pixels (threshold $thr)"
roadseg -q evaluate --pred "${preds[@]}" --labels "${labels[@]}" --scene "${scenes[@]}" --threshold "$thr" --json "$work/report_all_pixels.json"
