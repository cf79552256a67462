"""The benchmark corpus: real English prose from the docstrings of Python's standard library.

Generated locally (no download), deterministic for a given Python version and seed. Paragraphs
are kept only when they read as prose (no doctest or code lines), so token counts resemble the
documents people embed. Some paragraphs are joined to widen the length mix, and a separate
set of long passages sits near a 256-token model limit.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import random
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

# Modules whose import has no side effects (no browser, no printing, no GUI), present on every
# CPython build this project supports.
_MODULES = (
    "abc", "argparse", "ast", "asyncio", "base64", "bisect", "bz2", "calendar", "cmd", "codecs",
    "collections", "colorsys", "concurrent.futures", "configparser", "contextlib", "copy", "csv",
    "dataclasses", "datetime", "decimal", "difflib", "dis", "email.message", "email.utils", "enum",
    "filecmp", "fnmatch", "fractions", "ftplib", "functools", "getopt", "gettext", "glob", "gzip",
    "hashlib", "heapq", "hmac", "html.parser", "http.client", "http.cookiejar", "http.server",
    "imaplib", "importlib.metadata", "inspect", "io", "ipaddress", "itertools", "json", "locale",
    "logging", "logging.handlers", "lzma", "mailbox", "math", "mimetypes", "multiprocessing",
    "netrc", "numbers", "operator", "optparse", "os", "pathlib", "pickle", "pkgutil", "platform",
    "plistlib", "poplib", "pprint", "queue", "quopri", "random", "re", "reprlib", "sched",
    "secrets", "selectors", "shelve", "shlex", "shutil", "signal", "smtplib", "socket",
    "socketserver", "sqlite3", "ssl", "statistics", "string", "struct", "subprocess", "symtable",
    "tarfile", "tempfile", "textwrap", "threading", "timeit", "tokenize", "trace", "traceback",
    "tracemalloc", "types", "typing", "unittest", "unittest.mock", "urllib.parse",
    "urllib.request", "uuid", "warnings", "wave", "weakref", "xml.dom.minidom",
    "xml.etree.ElementTree", "zipfile", "zipimport", "zoneinfo",
)  # fmt: skip

_MIN_WORDS = 8
# Words per long passage: docstring prose runs at about 1.4 WordPiece tokens per word, so this
# lands a little under a 256-token limit.
_LONG_WORDS = (145, 170)
_CODE_LINE = re.compile(r"^\s*(>>>|\.\.\.|\$ |[{}\[\]()]|[A-Za-z_][\w.]*\s*=|def |class |import |from )")


@dataclass(frozen=True, slots=True)
class Corpus:
    texts: tuple[str, ...]  # mixed-length paragraphs
    long_texts: tuple[str, ...]  # passages near the 256-token limit
    short_texts: tuple[str, ...]  # single sentences, for latency
    seed: int

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for text in (*self.texts, "\x00", *self.long_texts, "\x00", *self.short_texts):
            digest.update(text.encode() + b"\x1f")
        return digest.hexdigest()[:16]

    @property
    def characters(self) -> int:
        return sum(map(len, self.texts))


def build_corpus(paragraphs: int, long_passages: int, short_texts: int = 200, seed: int = 0) -> Corpus:
    """``paragraphs`` mixed-length texts, ``long_passages`` near the token limit, ``short_texts``
    sentences of a few words; the same arguments give the same corpus on the same Python."""
    pool = stdlib_paragraphs()
    rng = random.Random(seed)
    order = pool[:]
    rng.shuffle(order)
    texts: list[str] = []
    cursor = 0
    while len(texts) < paragraphs:
        # About one text in five joins two to four paragraphs, so lengths spread from a dozen
        # tokens to the limit, like real documents cut into chunks.
        joined = rng.randint(2, 4) if rng.random() < 0.2 else 1
        texts.append(" ".join(order[(cursor + k) % len(order)] for k in range(joined)))
        cursor += joined
    long_texts = [_long_passage(order, rng) for _ in range(long_passages)]
    sentences = [s for p in order for s in _sentences(p) if 4 <= len(s.split()) <= 14]
    short = rng.sample(sentences, min(short_texts, len(sentences)))
    return Corpus(tuple(texts), tuple(long_texts), tuple(short), seed)


def stdlib_paragraphs() -> list[str]:
    """Every distinct prose paragraph of the listed modules' docstrings, in a stable order."""
    seen: set[str] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in _MODULES:
            try:
                module = importlib.import_module(name)
            except ImportError:  # an optional stdlib part missing from this build
                continue
            for doc in _docstrings(module):
                for paragraph in _prose_paragraphs(doc):
                    seen.add(paragraph)
    return sorted(seen)


def _docstrings(module: object) -> Iterator[str]:
    yield inspect.getdoc(module) or ""
    for name, member in sorted(vars(module).items()):
        if name.startswith("_") or getattr(member, "__module__", None) != getattr(module, "__name__", None):
            continue
        yield inspect.getdoc(member) or ""
        if inspect.isclass(member):
            for attr_name, attr in sorted(vars(member).items()):
                if not attr_name.startswith("_") and callable(attr):
                    yield inspect.getdoc(attr) or ""


def _prose_paragraphs(doc: str) -> Iterator[str]:
    for block in re.split(r"\n\s*\n", doc):
        lines = block.strip().splitlines()
        if not lines or any(_CODE_LINE.match(line) for line in lines) or block.rstrip().endswith("::"):
            continue
        text = " ".join(line.strip() for line in lines)
        words = text.split()
        letters = sum(c.isalpha() or c.isspace() for c in text)
        if len(words) >= _MIN_WORDS and letters >= 0.85 * len(text) and text[0].isupper():
            yield text


def _long_passage(order: list[str], rng: random.Random) -> str:
    target = rng.randint(*_LONG_WORDS)
    words: list[str] = []
    while len(words) < target:
        words.extend(order[rng.randrange(len(order))].split())
    return " ".join(words[:target])


def _sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+", paragraph) if s.strip()]
