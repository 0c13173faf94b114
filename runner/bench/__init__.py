"""`modrun bench`: benchmark suites across runtimes (modrun's evaluators, Node), each benchmark in
a fresh runtime, with statistics, baselines, reports, charts and an optional Ray backend."""
