"""Headline rows interleaved over rounds (jaxtune/bench/interleaved.py).

`python benchmarks/interleaved.py lstm 64 128 --K 64 --rounds 3` writes
benchmarks/results/interleaved/<case>.json and .md.
"""

from jaxtune.bench.interleaved import main

if __name__ == "__main__":
    main()
