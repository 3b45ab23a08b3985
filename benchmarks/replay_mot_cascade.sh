#!/usr/bin/env bash
# Replays of the MoT-cascade recorded outcomes (DATE and GSM8K) behind benchmarks/results/replay.md.
# Usage: bash benchmarks/replay_mot_cascade.sh [DATA_DIR] [OUT_DIR]
# DATA_DIR defaults to ../shared/data/mot_cascade beside the clone. Each run prints its table and
# writes <stem>.md, <stem>.json, <stem>_regret.png and <stem>_cost_accuracy.png into OUT_DIR.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-$here/../shared/data/mot_cascade}"
out="${2:-$here/benchmarks/results/replay}"
py="${PYTHON:-python}"
common=(--seeds 10 --out "$out" --no-progress -q)
# MoT cascade: the weak step votes over CoT and PoT samples of gpt-3.5-turbo together (MoT-1D
# vote), on GSM8K over Llama-2-13B's two PoT prompt sets (the only representation recorded).
date_cascade=(--cascade-weak 'gpt-3.5-turbo|cot|1|sampling|n=5+gpt-3.5-turbo|pot|1|sampling|n=5'
              --cascade-strong 'gpt-4|cot|1|sampling|n=1')
gsm_cascade=(--cascade-weak 'llama-2-13b|pot|1|sampling|n=5+llama-2-13b|pot|2|sampling|n=5'
             --cascade-strong 'gpt-4|cot|1|greedy|n=1')
date_frontier=(--budget 0.0005,0.001,0.002,0.004,0.008 --cost-weights 0,0.2,0.4,0.6,0.8)
gsm_frontier=(--budget 0.003,0.01,0.02,0.04 --cost-weights 0,0.2,0.4,0.6,0.8)

for preset in cost_sensitive quality_priority; do
  for passes in 1 5; do
    "$py" -m uniscale.replay "$data" --task date --preset "$preset" --passes "$passes" \
      "${date_cascade[@]}" "${date_frontier[@]}" "${common[@]}" --stem "date_${preset}_p${passes}"
  done
  "$py" -m uniscale.replay "$data" --task date --preset "$preset" --passes 3 --heldout \
    "${date_cascade[@]}" "${common[@]}" --stem "date_${preset}_heldout"
  for passes in 1 3; do
    "$py" -m uniscale.replay "$data" --task gsm8k --preset "$preset" --passes "$passes" \
      "${gsm_cascade[@]}" "${gsm_frontier[@]}" "${common[@]}" --stem "gsm8k_${preset}_p${passes}"
  done
done
