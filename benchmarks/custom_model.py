"""Your own model in the population (jaxtune/bench/custom_model.py): the showcase sweep of
experiments/custom_model/ run as one population and one config at a time.
`python benchmarks/custom_model.py [--quick]`.

Writes benchmarks/results/custom_model/emotion_attention.json and .md.
"""

from jaxtune.bench.custom_model import main

if __name__ == "__main__":
    main()
