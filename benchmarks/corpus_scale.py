"""Corpus scale: ingest throughput and hybrid-search latency at the bundled corpus, 10k and 100k chunks.

- Bundled corpus: ``mockround ingest``'s code (``service.retrieval.ingest.ingest``) into an
  empty data dir (cold), then again with nothing changed. That index becomes the one the
  other benchmarks use.
- 10k: synthetic chunks upserted in batches of 64 into a fresh collection whose embedding
  function is the real MiniLM (Chroma embeds them, as ingest does).
- 100k: synthetic chunks with a CHEAP DETERMINISTIC HASH EMBEDDER (benchmarks/synthetic.py),
  not MiniLM: it measures the store and search side only.
Search = ``Retriever.search`` (query embedding + Chroma dense query + BM25 + fusion) with
the filters the engine uses, over paraphrased questions from evals/paraphrases.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.report import RESULTS, Result, at_most, percentile
from benchmarks.servers import bench_settings, data_dir, ensure_index
from benchmarks.synthetic import HashEmbedding, case_ids, chunk
from service.retrieval.index import Index, open_index
from service.retrieval.ingest import ingest
from service.retrieval.search import Filters, Retriever
from service.settings import PROJECT_ROOT, Settings

COLD_S, UNCHANGED_S = 60.0, 2.0
REAL_BATCH, CHEAP_BATCH = 64, 4096


def queries(n: int) -> list[tuple[str, Filters]]:
    texts: list[str] = []
    for path in sorted((PROJECT_ROOT / "evals" / "paraphrases").glob("*.yaml")):
        texts += [p["text"] for p in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("paraphrases", [])]
    filters = [Filters(), Filters(kind=("rubric",), phase=("deep_dive",), level="senior"),
               Filters(kind=("stress_test",), phase=("deep_dive",), level="senior",
                       exclude_ids=frozenset({"click.st.flash-sale", "syn.12"}))]
    step = max(1, len(texts) // n)
    return [(texts[i * step % len(texts)], filters[i % len(filters)]) for i in range(n)]


def search_figures(res: Result, label: str, retriever: Retriever, qs: list[tuple[str, Filters]]) -> None:
    retriever.search(qs[0][0], k=8, filters=qs[0][1])  # first query loads the HNSW index
    times, embeds = [], []
    for text, f in qs:
        started = time.perf_counter()
        retriever.index.embedder([text])  # the search below then finds this vector in the per-process cache
        embeds.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        retriever.search(text, k=8, filters=f)
        times.append((time.perf_counter() - started) * 1000)
    res.add(f"search p50 / p99 at {label}, query embedded beforehand", percentile(times, 50), "ms", "", None,
            f"p99 {percentile(times, 99):.1f} ms; query embedding p50 {percentile(embeds, 50):.1f} ms")


def bundled(res: Result, quick: bool, qs: list[tuple[str, Filters]]) -> None:
    if quick:
        res.add("cold ingest, bundled corpus", None, "s", f"≤ {COLD_S:.0f} s", None, "skipped in --quick")
        ensure_index(bench_settings())
    else:
        target = data_dir()
        fresh = target.with_name(target.name + "-cold")
        shutil.rmtree(fresh, ignore_errors=True)
        cold = ingest(bench_settings(fresh))
        res.add("cold ingest, bundled corpus", cold.seconds, "s", f"≤ {COLD_S:.0f} s", at_most(cold.seconds, COLD_S),
                f"{cold.chunks:,} chunks, {cold.chunks / cold.seconds:.0f} chunks/s")
        shutil.rmtree(target, ignore_errors=True)
        fresh.rename(target)
    settings = bench_settings()
    again = ingest(settings)
    res.add("unchanged re-ingest, bundled corpus", again.seconds, "s", f"≤ {UNCHANGED_S:.0f} s",
            at_most(again.seconds, UNCHANGED_S), f"{again.skipped:,} of {again.chunks:,} chunks unchanged")
    search_figures(res, f"bundled corpus ({again.chunks:,} chunks)", Retriever(open_index(settings)), qs)


def synthetic(res: Result, root: Path, n: int, cheap: bool, qs: list[tuple[str, Filters]]) -> None:
    index = open_index(Settings(data_dir=root, _env_file=None), create=True)  # type: ignore[call-arg]
    hasher = HashEmbedding()
    if cheap:
        index = Index(index.client, index.collection, hasher, hasher.model_name, hasher.dimension)
    cases, batch = case_ids(), CHEAP_BATCH if cheap else REAL_BATCH
    label = f"{n // 1000}k synthetic chunks" + (" (HASH embedder, not MiniLM)" if cheap else " (MiniLM)")
    started = time.perf_counter()
    for start in range(0, n, batch):
        rows = [chunk(i, cases) for i in range(start, min(n, start + batch))]
        docs = [r[1] for r in rows]
        extra = {"embeddings": hasher.embed(docs)} if cheap else {}
        index.collection.upsert(ids=[r[0] for r in rows], documents=docs, metadatas=[r[2] for r in rows], **extra)
    seconds = time.perf_counter() - started
    what = "hash-embed + store" if cheap else "embed + store"
    res.add(f"ingest throughput at {label}", n / seconds, "chunks/s", "", None, f"{what}: {seconds:.1f} s")
    started = time.perf_counter()
    retriever = Retriever(index)
    res.add(f"retriever load (documents + BM25) at {n // 1000}k", time.perf_counter() - started, "s")
    search_figures(res, label, retriever, qs)


def run(quick: bool = False, res: Result | None = None) -> Result:
    """Fill ``res`` (figures added so far survive a failure later in the run)."""
    res = res if res is not None else Result("corpus")
    qs = queries(20 if quick else 40)
    bundled(res, quick, qs)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-corpus-", dir=RESULTS) as tmp:
        synthetic(res, Path(tmp) / "real", 2_000 if quick else 10_000, False, qs)
        synthetic(res, Path(tmp) / "cheap", 10_000 if quick else 100_000, True, qs)
    res.notes += [
        "Bundled corpus: the product's ingest (read, validate, chunk, embed with MiniLM int8, upsert) into an empty "
        "data dir; then the same ingest with nothing changed (content hashes match, nothing is written).",
        "Synthetic chunks (~24 words, metadata like the real index) are generated by benchmarks/synthetic.py. "
        "At 10k they are embedded by the real MiniLM embedder; at 100k by a cheap deterministic HASH "
        "embedder, so the 100k row measures Chroma + BM25 + fusion only, not embedding quality or cost.",
        "Search: Retriever.search (k=8) over paraphrased candidate questions, cycling no filter / the engine's "
        "rubric filter / its stress-test filter with excluded ids.",
    ]
    return res
