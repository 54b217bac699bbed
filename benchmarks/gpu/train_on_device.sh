#!/usr/bin/env bash
# Train on a lent device within MINUTES, continuing from the packed checkpoint, and bring the result
# back in parts of at most 16 MiB.
#
#   benchmarks/gpu/train_on_device.sh MINUTES [roadseg train options...]
#
# Before the call (here):  python benchmarks/gpu/pack.py --tiles-csv ... [--init last.safetensors]
#   and carry benchmarks/gpu/payload (git-ignored) with the call.
# On the device: unpacks the tiles (exact white restored), trains with `roadseg train` (recipe $RECIPE,
#   default modern) at the packed GSD for what is left of MINUTES after unpacking and a margin for the
#   last validation and the copy-out ($MARGIN_MIN, default 1). With payload/init.safetensors the run
#   starts from those weights (the optimizer state does not travel) with a warm-up of $WARMUP steps.
#   The official valid tiles (split=valid in the pack) select the best epoch.
# After the call (here):   python benchmarks/gpu/parts.py join OUT/checkpoint/last.safetensors.parts.json last.safetensors
#   (and the same for best.safetensors); pack again with --init last.safetensors for the next lease.
#
# Environment: PAYLOAD (default benchmarks/gpu/payload), OUT (default ./device_out; the device tool sets
# it), WORK (default a temporary folder), RECIPE, WARMUP (default 100), MARGIN_MIN (default 1).
set -euo pipefail
START=$(date +%s)
MINUTES=${1:?usage: train_on_device.sh MINUTES [roadseg train options...]}
shift
PAYLOAD=${PAYLOAD:-benchmarks/gpu/payload}
OUT=${OUT:-$PWD/device_out}
WORK=${WORK:-$(mktemp -d)}
RECIPE=${RECIPE:-modern}
WARMUP=${WARMUP:-100}
MARGIN_MIN=${MARGIN_MIN:-1}
PY=${PYTHON:-python}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"

"$PY" "$HERE/unpack.py" "$PAYLOAD" "$WORK/tiles"
GSD=$("$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['gsd_m'])" "$PAYLOAD/PACK.json")
INIT=()
if [ -f "$PAYLOAD/init.safetensors" ]; then
  INIT=(--set "init_weights=$PAYLOAD/init.safetensors" --set "warmup_steps=$WARMUP")
fi
BUDGET=$("$PY" -c "import sys,time; m=float(sys.argv[1])-(time.time()-float(sys.argv[2]))/60-float(sys.argv[3]); print(round(m,3)); sys.exit(m<=0)" \
  "$MINUTES" "$START" "$MARGIN_MIN") || { echo "no time left to train (budget $BUDGET min)" >&2; exit 2; }
echo "training for $BUDGET min at ${GSD} m" >&2

"$PY" -m roadseg.cli train --recipe "$RECIPE" --tiles-csv "$WORK/tiles/tiles.csv" --out "$WORK/run" \
  --time-budget-min "$BUDGET" --set "gsd_m=$GSD" --set "source_gsd_m=$GSD" --set plot=false \
  ${INIT[@]+"${INIT[@]}"} "$@"

for f in last best; do
  if [ -f "$WORK/run/$f.safetensors" ]; then
    "$PY" "$HERE/parts.py" split "$WORK/run/$f.safetensors" "$OUT/checkpoint" --max-mib 16
  fi
done
cp "$WORK/run/log.json" "$WORK/run/log.csv" "$PAYLOAD/PACK.json" "$OUT/"
echo "done in $(( $(date +%s) - START )) s; parts in $OUT/checkpoint" >&2
