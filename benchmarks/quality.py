"""Quality benchmark (jaxtune/bench/quality.py): `python benchmarks/quality.py [--datasets ...]`.

Writes benchmarks/results/quality.json and quality.md.
"""

from jaxtune.bench.quality import main

if __name__ == "__main__":
    main()
