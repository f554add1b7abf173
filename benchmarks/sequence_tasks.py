"""Sequence-task benchmark (jaxtune/bench/sequence_tasks.py): the named-config CTC study
ranked by character accuracy, beside rules that read the task without a model.
`python benchmarks/sequence_tasks.py [--quick]`.

Writes benchmarks/results/sequence/named_configs_ctc.json and .md.
"""

from jaxtune.bench.sequence_tasks import main

if __name__ == "__main__":
    main()
