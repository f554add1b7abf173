"""Scale out (jaxtune/bench/workers.py): the 32-config sweep of benchmarks/workers.yaml by
one worker on one core and by two workers on a core each, sharing a PostgreSQL study.
`python benchmarks/workers.py [--quick]`.

Writes benchmarks/results/workers/workers_32.json and .md.
"""

from jaxtune.bench.workers import main

if __name__ == "__main__":
    main()
