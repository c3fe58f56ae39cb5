#!/usr/bin/env bash
# Reproduces the measurements of benchmarks/RESULTS.md: quality (`unmask eval`) and speed (`unmask bench`).
#
#   . .venv/bin/activate && benchmarks/run_all.sh            # from the repository root; about 25 min on 2 cores
#
# Raw JSON and grids go to $OUT (default /tmp/unmask-bench); benchmarks/report.py turns them into the tables of
# RESULTS.md ($OUT/tables.md), judging the speed runs against the project's targets (benchmarks/targets.py). Until trained models ship, the speed runs use generators of the arch registry
# exported with random weights (benchmarks/export_untrained.py): untrained weights, speed only.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-/tmp/unmask-bench}
VAL=${VAL:-../shared/data/celeba/val}
TRAIN=${TRAIN:-../shared/data/celeba/train}
THREADS=${THREADS:-2}
# the library reads its weights only from options or these variables
export UNMASK_PERCEPTUAL_WEIGHTS=${UNMASK_PERCEPTUAL_WEIGHTS:-../shared/weights/squeezenet1_1_features.pth}
export UNMASK_LPIPS_WEIGHTS=${UNMASK_LPIPS_WEIGHTS:-../shared/weights/lpips_squeeze_v0.1.pth}
EVAL_N=${EVAL_N:-200}
mkdir -p "$OUT"

python benchmarks/export_untrained.py "$OUT/models"

# Quality: every installed default model (none yet) and the classic baselines, on the validation faces.
for case in "eyes bar" "eyes pixelate" "mouth surgical"; do
  set -- $case
  unmask eval "$VAL" --region "$1" --censor "$2" --n "$EVAL_N" --baseline telea,ns,none --threads "$THREADS" \
    --json --grid "$OUT/grid-$1-$2.png" > "$OUT/eval-$1-$2.json"
done

# Speed: the pipeline per stage with a realistic generator, its scaling, and the generator alone per arch.
M="$OUT/models/untrained-dmfn-small.onnx"
unmask bench "$VAL" --model "$M" --n 200 --threads "$THREADS" --repeats 20 --scaling --json > "$OUT/bench-dmfn-small.json"
unmask bench "$VAL" --model telea --n 200 --threads "$THREADS" --json > "$OUT/bench-telea.json"
for arch in context-encoder dmfn edgeconnect glcic lsgan-ae; do
  for threads in 1 "$THREADS"; do
    for batch in 1 8; do
      unmask bench --no-folder --model "$OUT/models/untrained-$arch-small.onnx" --threads "$threads" --batch "$batch" \
        --repeats 20 --json > "$OUT/gen-$arch-t$threads-b$batch.json"
    done
  done
done
# Memory over a long run: 1,000 photos.
unmask bench "$TRAIN" --model "$M" --n 1000 --threads "$THREADS" --repeats 5 --json > "$OUT/bench-1000.json"

python benchmarks/report.py "$OUT" > "$OUT/tables.md"
echo "results in $OUT (tables: $OUT/tables.md)"
