"""What changes a running population from outside its own lifecycle: W&B's
`early_terminate` (early_terminate.py) stops configs at bands of evaluations."""
