from pathlib import Path

import tiktoken

from service.llm.tokens import count_tokens, encoding, seed_tiktoken_cache


def test_both_encodings_load_from_the_seeded_cache() -> None:
    cl = encoding("cl100k_base")
    o2 = encoding("o200k_base")
    assert cl.decode(cl.encode("late-arriving events")) == "late-arriving events"
    assert o2.decode(o2.encode("schema drift at 10x")) == "schema drift at 10x"
    assert cl.n_vocab > 100_000 and o2.n_vocab > 199_000
    assert count_tokens("hello world") == 2


def test_tampered_cache_file_is_rewritten(tmp_path: Path) -> None:
    seed_tiktoken_cache(tmp_path)
    files = sorted(tmp_path.iterdir())
    assert len(files) == 2
    files[0].write_bytes(b"garbage")
    seed_tiktoken_cache(tmp_path)
    assert files[0].stat().st_size > 1_000_000


def test_public_api_sees_cache_dir(tmp_path: Path) -> None:
    seed_tiktoken_cache(tmp_path)
    assert tiktoken.get_encoding("o200k_base").encode("a") == [64]
