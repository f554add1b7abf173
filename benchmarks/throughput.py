"""Throughput benchmark (jaxtune/bench/throughput.py): `python benchmarks/throughput.py [--quick]`.

Writes benchmarks/results/throughput.json and throughput.md.
"""

from jaxtune.bench.throughput import main

if __name__ == "__main__":
    main()
