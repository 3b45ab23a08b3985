#!/usr/bin/env bash
# Sensitivity of the DATE replay (5 passes) to LinUCB's alpha (both presets) and to the query
# featurizer (quality-priority), behind the "sensitivity" part of benchmarks/results/replay.md.
# Usage: bash benchmarks/replay_mot_cascade_sensitivity.sh [DATA_DIR] [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-$here/../shared/data/mot_cascade}"
out="${2:-$here/benchmarks/results/replay}"
py="${PYTHON:-python}"
common=(--task date --passes 5 --seeds 10 --out "$out" --no-progress -q
        --policies uniscale,uniscale_routing,uniscale_tts,greedy)
for preset in cost_sensitive quality_priority; do
  for alpha in 0.1 0.3; do
    "$py" -m uniscale.replay "$data" "${common[@]}" --preset "$preset" --alpha "$alpha" \
      --stem "date_${preset}_p5_alpha${alpha}"
  done
done
"$py" -m uniscale.replay "$data" "${common[@]}" --preset quality_priority --featurizer minilm \
  --stem "date_quality_priority_p5_minilm"
