"""Schedulers benchmark (jaxtune/bench/schedulers.py): a random sweep trained fully vs. the
same configs with ASHA and slot refill. `python benchmarks/schedulers.py [--quick]`.

Writes benchmarks/results/schedulers/asha_DATA.json and .md.
"""

from jaxtune.bench.schedulers import main

if __name__ == "__main__":
    main()
