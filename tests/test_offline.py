"""Ingest + search with every socket blocked: nothing may reach out (run in a fresh process)."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from .conftest import copy_mini_corpus

GUARD = textwrap.dedent('''
    import json, socket, sys
    attempts = []
    def _blocked(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise OSError("network blocked by test")
    socket.socket.connect = _blocked
    socket.socket.connect_ex = _blocked
    socket.create_connection = _blocked
    socket.getaddrinfo = _blocked
    from pathlib import Path
    from service.llm.tokens import seed_tiktoken_cache
    from service.settings import Settings
    from service.retrieval.ingest import ingest
    from service.retrieval.index import open_index
    from service.retrieval.search import Retriever
    data, corpus = Path(sys.argv[1]), Path(sys.argv[2])
    seed_tiktoken_cache(data / "tiktoken")
    settings = Settings(data_dir=data, corpus_dir=corpus, _env_file=None)
    report = ingest(settings)
    hits = Retriever(open_index(settings)).search("late data and watermarks", k=3)
    print(json.dumps({"attempts": attempts, "chunks": report.chunks, "hits": len(hits)}))
''')


def test_ingest_and_search_never_touch_the_network(tmp_path: Path) -> None:
    corpus = copy_mini_corpus(tmp_path / "corpus")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TIKTOKEN_CACHE_DIR": ""}
    proc = subprocess.run([sys.executable, "-c", GUARD, str(tmp_path / "data"), str(corpus)],
                          capture_output=True, text=True, timeout=300, env=env,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["attempts"] == []
    assert result["chunks"] > 50 and result["hits"] == 3
