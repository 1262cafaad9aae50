"""`make bench`: the speed figures of wuye, measured side by side in one run.

The machines are shared and noisy, so the targets are ratios measured in the
same run (the API against a bare Temporal workflow on the same server) and
latencies under a fixed, open-loop load. `python -m bench` prints one line
per figure, `name: value unit (target: ...)`, writes the same to
`var/bench.json`, and exits 1 when a target is missed.
"""
