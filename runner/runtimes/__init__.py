"""An environment's runtimes over time: one replaced after a limit or a crash (lifecycle.py), and a
pool of them for concurrent calls (pool.py)."""
