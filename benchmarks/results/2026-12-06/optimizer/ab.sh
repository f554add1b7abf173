#!/bin/bash
out=/tmp/optab/results5.jsonl; : > $out
for round in 1 2; do
  for case in '{"architecture":"gru","batch_size":16,"hidden_size":64}' '{"architecture":"lstm","batch_size":64,"hidden_size":128}'; do
    for row in "population before" "population now" "sequential old" "sequential now"; do
      set -- $row; mode=$1; tree=$2; dir=/tmp/ab_$tree
      payload=$(python3 -c "import json,sys; c=json.loads(sys.argv[1]); c.update(embedding_dim=100, seq_len=64, vocab_size=20000, num_classes=6); m=sys.argv[2]; p={'case': c, 'steps': 16, 'repeats': 3, 'target_seconds': 2.0}; p.update({'K': 8} if m=='population' else {'configs': 2}); print(json.dumps(p))" "$case" "$mode")
      line=$(cd $dir && PYTHONPATH=$dir /work/main/.venv/bin/python -m jaxtune.bench.measure $mode "$payload" 2>/tmp/optab/err5.txt | tail -1)
      [ -z "$line" ] && line="{\"error\": \"$(tail -1 /tmp/optab/err5.txt | tr -d '\"')\"}"
      echo "{\"round\": $round, \"mode\": \"$mode\", \"tree\": \"$tree\", \"case\": $case, \"result\": $line}" >> $out
    done
  done
done
echo done > /tmp/optab/done5
