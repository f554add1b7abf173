#!/bin/bash
# Interleaved A/B between checkouts of jaxtune: each round runs every row, in turn, as one
# `python -m jaxtune.bench.measure` process on the checkout the row names.
#
#   ab.sh OUT.jsonl ROUNDS MODE:CHECKOUT [MODE:CHECKOUT ...]
#
# MODE: population (K=8) or sequential (2 configs, one at a time). CHECKOUT: a directory
# holding a jaxtune/ package (a git worktree of the commit to measure). PYTHON (default
# python3) must have jaxtune's dependencies. ab5 was run as
#   ab.sh ab5.jsonl 2 population:$BEFORE population:$NOW sequential:$OLD sequential:$NOW
set -euo pipefail
out=$1 rounds=$2
shift 2
python=${PYTHON:-python3}
: > "$out"
for round in $(seq 1 "$rounds"); do
  for case in '{"architecture":"gru","batch_size":16,"hidden_size":64}' \
              '{"architecture":"lstm","batch_size":64,"hidden_size":128}'; do
    for row in "$@"; do
      mode=${row%%:*} dir=${row#*:}
      payload=$("$python" -c "import json, sys
c = json.loads(sys.argv[1]) | {'embedding_dim': 100, 'seq_len': 64, 'vocab_size': 20000, 'num_classes': 6}
p = {'case': c, 'steps': 16, 'repeats': 3, 'target_seconds': 2.0}
p |= {'K': 8} if sys.argv[2] == 'population' else {'configs': 2}
print(json.dumps(p))" "$case" "$mode")
      line=$(cd "$dir" && PYTHONPATH=. "$python" -m jaxtune.bench.measure "$mode" "$payload" | tail -1) \
        || line='{"error": "measurement failed"}'
      echo "{\"round\": $round, \"mode\": \"$mode\", \"tree\": \"$(basename "$dir")\", \"case\": $case, \"result\": $line}" >> "$out"
    done
  done
done
