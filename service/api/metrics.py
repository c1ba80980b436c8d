"""A tiny Prometheus text-format registry (counters, gauges, histograms)."""

from __future__ import annotations

import threading
from collections import defaultdict

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
        self.gauges: dict[str, float] = defaultdict(float)
        self.hist: dict[str, list[float]] = defaultdict(list)

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        with self._lock:
            self.counters[(name, tuple(sorted(labels.items())))] += value

    def gauge(self, name: str, delta: float) -> None:
        with self._lock:
            self.gauges[name] += delta

    def observe(self, name: str, seconds: float) -> None:
        with self._lock:
            values = self.hist[name]
            values.append(seconds)
            if len(values) > 10_000:
                del values[: len(values) - 10_000]

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            for (name, labels), value in sorted(self.counters.items()):
                label = ",".join(f'{k}="{v}"' for k, v in labels)
                lines.append(f"{name}{{{label}}} {value}" if label else f"{name} {value}")
            for name, value in sorted(self.gauges.items()):
                lines.append(f"{name} {value}")
            for name, values in sorted(self.hist.items()):
                for bound in BUCKETS:
                    lines.append(f'{name}_bucket{{le="{bound}"}} {sum(1 for v in values if v <= bound)}')
                lines.append(f'{name}_bucket{{le="+Inf"}} {len(values)}')
                lines.append(f"{name}_sum {sum(values)}")
                lines.append(f"{name}_count {len(values)}")
        return "\n".join(lines) + "\n"
