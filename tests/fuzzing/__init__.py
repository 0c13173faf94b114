"""Differential fuzzing against Node: hypothesis generates module graphs (graphs.py); each runs natively
in Node and through modrun in every evaluator (drivers.py), and the results must be equal (check.py).
`python -m tests.fuzzing --examples 10000` is the long run; tests/test_fuzz_differential.py the CI form."""
