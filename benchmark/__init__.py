"""`make bench`: the in-process ceiling against the running stack, on the same articles.

- corpus: the articles of a run (`french` from seeds/, or `multilingual` real news).
- measures: pure arithmetic and parsing (percentiles, Prometheus text, cgroup files,
  the ratio and the pipeline's overhead, the queue summary).
- containers: the compose project's containers and their cgroup counters (docker exec).
- stack: the HTTP side (submit, wait until stored, idle latency, queue sampling).
- report: the JSON document and the printed table; plot: the queue-depth PNG.
- __main__: one run (scripts/bench.py calls it); scripts/ceiling.py is the ceiling.
Nothing is asserted: the bench prints figures and writes them down.
"""
