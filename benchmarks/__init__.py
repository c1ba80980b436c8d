"""Benchmarks for mockround: ``python -m benchmarks.run [--only NAME] [--quick]`` (or ``make bench``).

Every figure is measured in the run that prints it, beside its baseline where one applies,
against real servers on 127.0.0.1 (our app under uvicorn, a fake OpenAI-compatible model
server in its own process). Results go to ``benchmarks/results/<timestamp>.json`` and
``benchmarks/results/latest.md``. See docs/performance.md.
"""
