"""Results that performance work must not change: dump them before, dump after, compare.

``python -m benchmarks.invariants dump FILE`` writes the offline grader's verdicts, features
and probabilities for every labelled answer in ``evals/grading/*.yaml``, hybrid-search hits
for every paraphrase under three filters, and the full state of every persona interview
(without measured latencies). ``python -m benchmarks.invariants compare BEFORE AFTER``
reports every difference (floats to 1e-6; met/not met, ids and text exactly) and exits 1
if there is any. Dump both sides from the same index (``MOCKROUND_BENCH_DATA_DIR``): a
rebuilt HNSW index can return other approximate neighbours, which is not a code change.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import yaml

from benchmarks.servers import bench_settings, ensure_index
from service.evals.grading_data import load_grading, scope
from service.interview.engine import Interview
from service.interview.knowledge import Knowledge, build_knowledge
from service.interview.script import Script, run_script
from service.retrieval.search import Filters
from service.settings import PROJECT_ROOT

EVALS = PROJECT_ROOT / "evals"
FILTERS = {"none": Filters(), "rubric": Filters(kind=("rubric",), phase=("deep_dive",), level="senior"),
           "stress": Filters(kind=("stress_test",), phase=("deep_dive",), level="senior",
                             exclude_ids=frozenset({"click.st.flash-sale"}))}


def grading(kb: Knowledge) -> dict[str, Any]:
    grader, out = kb.grader, {}
    for case, ans in load_grading(EVALS / "grading", kb.corpus):
        items = scope(kb.corpus, case, ans.phase, ans.stress_test)
        result = grader.grade(ans.answer, items, {"phase": ans.phase})
        prep = grader.prepare(ans.answer)  # type: ignore[attr-defined]
        features = {}
        if items and prep.words >= grader.cal.min_words:  # type: ignore[attr-defined]
            for item, m in zip(items, grader.matches(prep, items), strict=True):  # type: ignore[attr-defined]
                features[item.id] = [float(x) for x in m.features] + [grader.cal.probability(m.features)]  # type: ignore[attr-defined]
        out[ans.id] = {"flags": [result.injection, result.keyword_stuffing],
                       "verdicts": [v.model_dump() for v in result.verdicts], "features": features}
    return out


def searches(kb: Knowledge) -> dict[str, Any]:
    assert kb.retriever is not None
    out, n = {}, 0
    for path in sorted((EVALS / "paraphrases").glob("*.yaml")):
        for p in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("paraphrases", []):
            for name, f in FILTERS.items():
                hits = kb.retriever.search(p["text"], k=12, filters=f)
                out[f"{n}:{name}"] = [[h.id, h.score, h.dense_rank, h.bm25_rank] for h in hits]
            n += 1
    return out


def personas(kb: Knowledge) -> dict[str, Any]:
    out = {}
    for case_dir in sorted(p for p in (EVALS / "personas").iterdir() if p.is_dir()):
        for path in sorted(case_dir.glob("*.yaml")):
            interview = Interview.new(kb, case_dir.name, "senior", 45, seed=11)
            run_script(interview, Script.load(path))
            state = interview.state.model_dump(mode="json")
            for turn in state["turns"]:
                turn.pop("latency_ms", None)
            out[f"{case_dir.name}/{path.stem}"] = state
    return out


def differences(a: Any, b: Any, where: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{where}: keys differ: {sorted(set(a) ^ set(b))[:5]}"]
        return [d for k in a for d in differences(a[k], b[k], f"{where}/{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} vs {len(b)} entries"]
        return [d for n, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{where}[{n}]")]
    if isinstance(a, float) and isinstance(b, float) and not isinstance(a, bool):
        return [] if math.isclose(a, b, rel_tol=0, abs_tol=1e-6) else [f"{where}: {a!r} vs {b!r}"]
    return [] if a == b else [f"{where}: {str(a)[:80]!r} vs {str(b)[:80]!r}"]


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "dump":
        settings = bench_settings()
        ensure_index(settings)
        kb = build_knowledge(settings)
        data = {"grading": grading(kb), "search": searches(kb), "personas": personas(kb)}
        Path(argv[1]).write_text(json.dumps(data, sort_keys=True), encoding="utf-8")
        print(f"wrote {argv[1]}: " + ", ".join(f"{len(v)} {k}" for k, v in data.items()))
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        before, after = (json.loads(Path(p).read_text(encoding="utf-8")) for p in argv[1:])
        found = differences(before, after)
        print("\n".join(found[:50]) or "identical")
        print(f"{len(found)} difference(s)")
        return 1 if found else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
