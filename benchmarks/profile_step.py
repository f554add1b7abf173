"""Where a population's step time goes, by source (jaxtune/bench/profile.py).

`python benchmarks/profile_step.py lstm 64 128 --K 8 [--embedding-update lazy]` writes
benchmarks/results/profiles/<case>.json and .md.
"""

from jaxtune.bench.profile import run

if __name__ == "__main__":
    run()
