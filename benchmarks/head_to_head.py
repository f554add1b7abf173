"""Head-to-head benchmark (jaxtune/bench/head_to_head.py): the best model each tuner finds
in the same wall time, against Optuna + PyTorch on the same cores (needs the torch extra).

  python benchmarks/head_to_head.py                       # emotion, 600 s x 5 contestants x 3 seeds
  python benchmarks/head_to_head.py --data sst2 --seeds 0
  python benchmarks/head_to_head.py --quick --data-dir SLICE --out OUT   # seconds: make test

Writes OUT/head_to_head_DATA.{json,md,png} (default benchmarks/results/head_to_head/).
"""

from jaxtune.bench.head_to_head import main

if __name__ == "__main__":
    main()
