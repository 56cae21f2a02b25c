"""The full-text index behind catalog and portal search (OPN-1, CAT-1): Chinese word
segmentation (rjieba, the jieba-rs binding; its dictionary is compiled in) with a user
dictionary of agency and place names from the organizations and regions tables,
pinyin and pinyin initials (pypinyin: ``qiye`` and ``qy`` find 企业), synonyms of
common terms (法人 / 企业), one wrong character tolerated (rapidfuzz edit distance 1
against the vocabulary), weighted field hits with idf for ranking, the words to mark
in results, and suggestions when nothing is found.

The index lives in the process, one per database, and is brought up to date before
every query when the ``catalog_text`` change counter or the entry count moved
(gongshu.changes): when the counter's journal in this process names every entry
changed since (drafts written by this process), only those entries are read again;
otherwise every entry's text is read again and only those that changed are segmented
again. Matching and ranking are Python over the same rows on SQLite and
PostgreSQL, so both databases give the same results in the same order.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import threading
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import rjieba
from markupsafe import Markup, escape
from pypinyin import Style, lazy_pinyin
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein
from sqlalchemy import Text, bindparam, cast, func, select
from sqlalchemy.orm import Session

from gongshu import changes
from gongshu.accounts.models import Organization, Region
from gongshu.catalog.models import CatalogEntry

# Groups of words searched for one another; a synonym's hit weighs SYNONYM of a direct one.
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("企业", "法人", "公司", "市场主体"),
    ("个人", "自然人", "居民"),
    ("车辆", "机动车"),
    ("公交", "公共交通"),
    ("医院", "医疗机构"),
    ("学校", "院校"),
    ("社保", "社会保险"),
    ("户籍", "户口"),
    ("住房", "房屋"),
    ("环境", "环保", "生态环境"),
    ("登记", "注册"),
    ("许可", "审批"),
    ("处罚", "行政处罚"),
    ("老人", "老年人"),
)
# Field weights: a word in the name counts most.
WEIGHTS = {
    "name": 3.0,
    "code": 2.5,
    "provider": 1.5,
    "region": 1.2,
    "themes": 1.5,
    "summary": 1.0,
    "fields": 0.5,
}
EXACT, PINYIN, SYNONYM, TYPO, PART = 1.0, 0.9, 0.7, 0.6, 0.5
STOP = frozenset("的 和 与 及 或 等 之 在 了 是 对 为 中 其".split())
_CJK = re.compile(r"[\u3400-\u9fff]")
_LETTERS = re.compile(r"^[a-z]+$")
_WORDISH = re.compile(r"\w", re.UNICODE)
_PLACE_SUFFIX = ("省", "市", "区", "县", "镇", "乡", "街道")

_jieba = rjieba.Jieba()
_jieba_lock = threading.Lock()
_user_words: set[str] = set()


def normalize(text: str) -> str:
    """Full-width to half-width, lower case."""
    return unicodedata.normalize("NFKC", text or "").lower()


def add_words(words: Iterable[str]) -> None:
    """Add agency and place names (and place names without 省/市/区/县 ...) to the
    segmentation dictionary, so that they are cut as one word."""
    with _jieba_lock:
        for raw in words:
            word = normalize(raw).strip()
            stems = [word]
            for suffix in _PLACE_SUFFIX:
                if word.endswith(suffix) and len(word) - len(suffix) >= 2:
                    stems.append(word[: -len(suffix)])
            for w in stems:
                if w and w not in _user_words and " " not in w:
                    _jieba.add_word(w, None, None)
                    _user_words.add(w)


def _keep(word: str) -> bool:
    return bool(word) and word not in STOP and bool(_WORDISH.search(word))


_WORDS: dict[str, list[str]] = {}  # text -> its words (catalog texts repeat: field lists)


def words(text: str) -> list[str]:
    """The index words of a text: the search-mode cut (long words and the words in them)."""
    found = _WORDS.get(text)
    if found is not None:
        return found
    with _jieba_lock:
        cut = _jieba.cut_for_search(normalize(text), True)
    found = [w for w in (c.strip() for c in cut) if _keep(w)]
    if len(_WORDS) > 50_000:
        _WORDS.clear()
    _WORDS[text] = found
    return found


def query_terms(q: str) -> list[str]:
    """The terms of a query: whitespace-separated chunks, Latin chunks whole (codes,
    pinyin), Chinese chunks cut into words; runs of single characters the dictionary
    did not join are put back together (often a word with a wrong character)."""
    terms: list[str] = []
    for chunk in normalize(q).split():
        if not _CJK.search(chunk):
            if _keep(chunk):
                terms.append(chunk)
            continue
        with _jieba_lock:
            cut = [w.strip() for w in _jieba.cut(chunk, True)]
        run = ""
        for w in cut + [""]:
            if len(w) == 1 and _CJK.match(w) and w not in STOP:
                run += w
                continue
            if run:
                terms.append(run)
                run = ""
            if _keep(w):
                terms.append(w)
    return list(dict.fromkeys(terms))


_PINYIN: dict[str, tuple[str, str]] = {}


def pinyin_keys(word: str) -> tuple[str, str] | None:
    """Full pinyin and initials of a Chinese word of two characters or more."""
    keys = _PINYIN.get(word)
    if keys is None:
        if len(word) < 2 or not all(_CJK.match(c) for c in word):
            return None
        full = "".join(lazy_pinyin(word))
        initials = "".join(lazy_pinyin(word, style=Style.FIRST_LETTER))
        keys = _PINYIN[word] = (full, initials)
    return keys


_KEYS: dict[str, list[tuple[str, float, str | None]]] = {}


def _text_keys(text: str) -> list[tuple[str, float, str | None]]:
    """(index key, factor, word a pinyin key stands for) of a text, memoized."""
    found = _KEYS.get(text)
    if found is None:
        found = []
        for w in words(text):
            found.append((w, 1.0, None))
            keys = pinyin_keys(w)
            if keys:
                found += [("\x01" + keys[0], PINYIN, w), ("\x01" + keys[1], PINYIN, w)]
        if len(_KEYS) > 50_000:
            _KEYS.clear()
        _KEYS[text] = found
    return found


_JSON: dict[str, str] = {}


def _json_text(raw: str | None, keys: tuple[str, ...]) -> str:
    """The words of a JSON list column read as text: its strings, or the ``keys`` of
    its objects (field names and descriptions)."""
    if not raw:
        return ""
    found = _JSON.get(raw)
    if found is None:
        try:
            items = json.loads(raw)
        except ValueError:
            items = []
        parts = []
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                parts += [str(item.get(k) or "") for k in keys]
            else:
                parts.append(str(item))
        found = " ".join(parts)
        if len(_JSON) > 50_000:
            _JSON.clear()
        _JSON[raw] = found
    return found


_SYN = {w: [s for s in group if s != w] for group in SYNONYMS for w in group}

# What the index reads of each entry (JSON read as text: parsed once per text).
_TEXTS = (
    select(
        CatalogEntry.id,
        CatalogEntry.name,
        CatalogEntry.summary,
        CatalogEntry.resource_code,
        cast(CatalogEntry.fields, Text),
        cast(CatalogEntry.themes, Text),
        Organization.name,
        Region.name,
    )
    .outerjoin(Organization, CatalogEntry.provider_org_id == Organization.id)
    .outerjoin(Region, CatalogEntry.region_code == Region.code)
)
# Up to this many changed entries are read by id; more, and all are read.
_FEW = 500


def _id_in(ids: list[int]) -> Any:
    return CatalogEntry.id.in_(bindparam("ids", ids, expanding=True))


@dataclass
class Match:
    """Entries matching a query: id -> score, and the words to mark in their texts."""

    scores: dict[int, float]
    marks: list[str]
    unmatched: list[str] = field(default_factory=list)


class TextIndex:
    """An inverted index of entry words (and of their pinyin) to weighted entry ids."""

    def __init__(self) -> None:
        self.stamp: Any = None
        self.texts: dict[int, tuple] = {}
        self.names: dict[int, str] = {}
        self.codes: dict[int, str] = {}
        self.entry_keys: dict[int, dict[str, float]] = {}
        self.postings: dict[str, dict[int, float]] = {}
        self.surfaces: dict[str, set[str]] = {}  # pinyin key -> the words it stands for
        self._vocab: list[str] | None = None
        self._names: list[str] | None = None
        self._name_ids: list[int] = []
        self._memo: dict[str, tuple[list[tuple[str, float, str]], list[str]]] = {}
        self.seq = 0  # the position in the catalog_text journal the stamp was read at
        self.lock = threading.RLock()

    # ------------------------------------------------------------ building

    def _entry_keys(self, row: tuple) -> dict[str, float]:
        _id, name, summary, code, fields, themes, provider, region = row
        found: dict[str, float] = {}
        surfaces = self.surfaces

        def add(key: str, weight: float) -> None:
            if weight > found.get(key, 0.0):
                found[key] = weight

        def add_text(text: str, weight: float) -> None:
            for key, factor, word in _text_keys(text):
                add(key, weight * factor)
                if word is not None:
                    surfaces.setdefault(key, set()).add(word)

        add_text(name or "", WEIGHTS["name"])
        add_text(summary or "", WEIGHTS["summary"])
        add_text(provider or "", WEIGHTS["provider"])
        add_text(region or "", WEIGHTS["region"])
        add_text(_json_text(themes, ()), WEIGHTS["themes"])
        add_text(_json_text(fields, ("name", "description")), WEIGHTS["fields"])
        code = normalize(code or "")
        if code:
            add(code, WEIGHTS["code"])
            for part in re.split(r"[-_./\s]+", code):
                if part:
                    add(part, WEIGHTS["code"])
        return found

    def _remove(self, entry_id: int) -> None:
        for key in self.entry_keys.pop(entry_id, {}):
            posting = self.postings.get(key)
            if posting is not None:
                posting.pop(entry_id, None)
                if not posting:
                    del self.postings[key]
                    self.surfaces.pop(key, None)
        self.texts.pop(entry_id, None)
        self.names.pop(entry_id, None)
        self.codes.pop(entry_id, None)

    def refresh(self, session: Session, stamp: Any) -> None:
        """Bring the index to the entries as ``session`` sees them: ``stamp`` is the
        ``catalog_text`` counter and the number of entries. When this process's journal
        of the counter names every entry changed since the index's own stamp (a draft
        made here: ``changes.journaled``), only those are read again; else all are."""
        if stamp == self.stamp:
            return
        if self.stamp is not None:
            found = changes.journaled(session, "catalog_text", self.stamp[0], stamp[0], self.seq)
            if found is not None and len(found[0]) <= _FEW:
                ids, seq = found
                self._apply(session.execute(_TEXTS.where(_id_in(sorted(ids)))).all(), ids)
                if len(self.texts) == stamp[1]:  # else rows came or went unseen: read all
                    self.stamp, self.seq = stamp, seq
                    return
        seq = changes.position(session, "catalog_text")
        orgs = session.execute(select(Organization.name)).scalars().all()
        regions = session.execute(select(Region.name)).scalars().all()
        add_words([*orgs, *regions, *(w for g in SYNONYMS for w in g)])
        self._apply(session.execute(_TEXTS).all(), None)
        self.stamp, self.seq = stamp, seq

    def _apply(self, rows: list[Any], ids: set[int] | None) -> None:
        """Take the entries' texts read in ``rows``: all entries (``ids`` None), or
        those of ``ids`` (an id without a row was deleted)."""
        seen = set()
        changed = False
        touched: set[str] = set()  # the keys of every entry added, changed or removed
        for row in rows:
            row = tuple(row)
            seen.add(row[0])
            text = row[1:]
            if self.texts.get(row[0]) == text:
                continue
            changed = True
            touched.update(self.entry_keys.get(row[0], ()))
            self._remove(row[0])
            keys = self._entry_keys(row)
            touched.update(keys)
            self.entry_keys[row[0]] = keys
            for key, weight in keys.items():
                self.postings.setdefault(key, {})[row[0]] = weight
            self.texts[row[0]] = text
            self.names[row[0]] = row[1] or ""
            self.codes[row[0]] = row[3] or ""
        for gone in (set(self.texts) if ids is None else ids & set(self.texts)) - seen:
            changed = True
            touched.update(self.entry_keys.get(gone, ()))
            self._remove(gone)
        if changed:
            self._names = None
            self._follow(touched)

    def _follow(self, touched: set[str]) -> None:
        """Bring the sorted vocabulary and the memo of query expansions up to a change
        of the entries holding ``touched`` keys: a few entries (a new draft) cost a few
        list insertions instead of sorting every key again, and only the expansions
        those keys can change are forgotten."""
        if self._vocab is None or len(touched) > 5000:
            self._vocab = None
            self._memo = {}
            return
        vocab = self._vocab
        for key in touched:
            if key.startswith("\x01"):
                continue
            at = bisect.bisect_left(vocab, key)
            present = at < len(vocab) and vocab[at] == key
            if key in self.postings and not present:
                vocab.insert(at, key)
            elif key not in self.postings and present:
                del vocab[at]
        self._memo = {
            term: memo for term, memo in self._memo.items() if not _stale(term, memo, touched)
        }

    # ------------------------------------------------------------ querying

    @property
    def vocab(self) -> list[str]:
        if self._vocab is None:
            self._vocab = sorted(k for k in self.postings if not k.startswith("\x01"))
        return self._vocab

    @property
    def name_list(self) -> list[str]:
        """Normalized entry names without spaces, parallel to ``name_ids``."""
        if self._names is None:
            ids = sorted(self.names)
            self._names = ["".join(normalize(self.names[i]).split()) for i in ids]
            self._name_ids = ids
        return self._names

    @property
    def name_ids(self) -> list[int]:
        self.name_list  # noqa: B018 - builds both
        return self._name_ids

    def _idf(self, key: str) -> float:
        n = len(self.texts) or 1
        return math.log(1 + n / (len(self.postings.get(key, ())) or 1))

    def expand(self, term: str) -> tuple[list[tuple[str, float, str]], list[str]]:
        """(index key, factor, word to mark) alternatives for one query term, and the
        words to mark: the term itself, its synonyms, the words its pinyin stands for,
        vocabulary words containing it, and, only when none of those is found, the
        vocabulary words one character away."""
        memo = self._memo.get(term)
        if memo is not None:
            return memo
        alts: list[tuple[str, float, str]] = []
        if term in self.postings:
            alts.append((term, EXACT, term))
        for syn in _SYN.get(term, ()):
            if syn in self.postings:
                alts.append((syn, SYNONYM, syn))
        if _LETTERS.match(term) and "\x01" + term in self.postings:
            for w in sorted(self.surfaces.get("\x01" + term, ())):
                alts.append(("", 0.0, w))  # a word to mark only
            alts.append(("\x01" + term, PINYIN, term))
        cjk = bool(_CJK.search(term))
        if cjk or len(term) >= 2:
            for w in self.vocab:
                if term in w and w != term:
                    alts.append((w, PART * len(term) / len(w) + PART / 2, term))
        if not alts and len(term) >= (2 if cjk else 4):
            near = process.extract(
                term, self.vocab, scorer=Levenshtein.distance, score_cutoff=1, limit=50
            )
            for w, _d, _i in near:
                if bool(_CJK.search(w)) == cjk and len(w) >= 2:
                    alts.append((w, TYPO, w))
        marks = list(dict.fromkeys(m for _k, _f, m in alts))
        self._memo[term] = (alts, marks)
        return alts, marks

    def _hits(self, term: str) -> dict[int, float]:
        """Entry id -> the best weight x factor x idf over the term's alternatives."""
        best: dict[int, float] = {}
        for key, factor, _mark in self.expand(term)[0]:
            if not key:
                continue
            idf = self._idf(key)
            for entry_id, weight in self.postings.get(key, {}).items():
                s = weight * factor * idf
                if s > best.get(entry_id, 0.0):
                    best[entry_id] = s
        return best

    def _pinyin_pieces(self, term: str) -> list[str]:
        """A Latin term that is no key itself, cut into indexed pinyin keys when it can
        be (``qiyedengji`` -> ``qiye`` ``dengji``; ``qydj`` -> ``qy`` ``dj``), fewest
        pieces first; else the term."""
        if not _LETTERS.match(term) or "\x01" + term in self.postings or term in self.postings:
            return [term]
        n = len(term)
        best: list[list[str] | None] = [None] * (n + 1)
        best[0] = []
        for end in range(1, n + 1):
            for start in range(max(0, end - 24), end - 1):
                prev = best[start]
                if prev is not None and "\x01" + term[start:end] in self.postings:
                    if best[end] is None or len(prev) + 1 < len(best[end] or ()):
                        best[end] = [*prev, term[start:end]]
        return best[n] if best[n] and len(best[n]) > 1 else [term]

    def _join(self, terms: list[str], hits: list[dict[int, float]], weak: Any) -> None:
        """Join each ``weak(i)`` term to a neighbour when the joined string is found."""
        i = 0
        while i < len(terms):
            if weak(i) and len(terms) > 1:
                for j in (i - 1, i + 1):
                    if 0 <= j < len(terms):
                        a, b = sorted((i, j))
                        joined = terms[a] + terms[b]
                        found = self._hits(joined)
                        if found:
                            terms[a : b + 1] = [joined]
                            hits[a : b + 1] = [found]
                            i = a - 1
                            break
            i += 1

    def _combine(
        self, terms: list[str], hits: list[dict[int, float]]
    ) -> tuple[dict[int, float], list[str], list[str]]:
        scores: dict[int, float] | None = None
        marks: list[str] = []
        unmatched: list[str] = []
        for term, best in zip(terms, hits, strict=True):
            if not best:
                unmatched.append(term)
            marks += self.expand(term)[1]
            if scores is None:
                scores = dict(best)
            else:
                scores = {i: s + best[i] for i, s in scores.items() if i in best}
        return scores or {}, marks, unmatched

    def match(self, q: str) -> Match:
        """Entries holding every term of ``q`` (directly or through an alternative),
        scored by the sum over terms of the best field weight x factor x idf, doubled
        when the name holds the whole query and again when it is the query. A term
        found nowhere is tried joined to its neighbour (a wrong character often cuts
        a word in two: 工商护 -> 工商 + 护)."""
        terms = [piece for t in query_terms(q) for piece in self._pinyin_pieces(t)]
        hits = [self._hits(t) for t in terms]
        self._join(terms, hits, lambda i: not hits[i])
        scores, marks, unmatched = self._combine(terms, hits)
        if not scores and any(len(t) == 1 for t in terms):
            # a wrong character that is a word elsewhere (西湖个 -> 西湖 + 个): join too
            self._join(terms, hits, lambda i: len(terms[i]) == 1)
            scores, marks, unmatched = self._combine(terms, hits)
        whole = "".join(normalize(q).split())
        if not scores and len(whole) >= 4:
            # last: a whole name one character away (a wrong character cut into no word)
            near = process.extract(
                whole, self.name_list, scorer=Levenshtein.distance, score_cutoff=1, limit=20
            )
            ids = self.name_ids
            scores = {ids[i]: 1.0 + TYPO * (1 - d) for _n, d, i in near}
        if whole:
            for entry_id in scores:
                name = "".join(normalize(self.names.get(entry_id, "")).split())
                if whole in name:
                    scores[entry_id] *= 4.0 if whole == name else 2.0
        return Match(scores, list(dict.fromkeys(marks)), unmatched)

    def ranked(self, scores: dict[int, float]) -> list[int]:
        """Ids by score, then resource code and id (the same order on every database)."""
        return sorted(scores, key=lambda i: (-round(scores[i], 9), self.codes.get(i, ""), i))

    def suggest(self, q: str, allowed: Collection[int], limit: int = 3) -> list[str]:
        """Names of ``allowed`` entries for "did you mean": those holding the most terms
        of ``q`` (best score first), else the names closest to it as strings."""
        allowed = set(allowed)
        cover: dict[int, list[float]] = {}
        for term in query_terms(q):
            for entry_id, score in self._hits(term).items():
                if entry_id in allowed:
                    got = cover.setdefault(entry_id, [0, 0.0])
                    got[0] += 1
                    got[1] += score
        ranked = sorted(cover, key=lambda i: (-cover[i][0], -cover[i][1], self.codes.get(i, ""), i))
        names = list(dict.fromkeys(self.names[i] for i in ranked if self.names.get(i)))
        if names:
            return names[:limit]
        pool = sorted({self.names[i] for i in allowed if self.names.get(i)})
        if not pool or not q.strip():
            return []
        found = process.extract(
            normalize(q), pool, scorer=fuzz.WRatio, processor=normalize, limit=limit
        )
        return [n for n, score, _ in found if score >= 40]


Expansion = tuple[list[tuple[str, float, str]], list[str]]  # TextIndex.expand's answer


def _stale(term: str, memo: Expansion, touched: set[str]) -> bool:
    """Whether ``TextIndex.expand(term)`` may answer otherwise once the entries holding
    the ``touched`` keys changed: the term, its pinyin key or a word containing it among
    them (``term in key`` covers all three), one of its synonyms, or an expansion found
    through the vocabulary's near words (any new word may change those)."""
    alts = memo[0]
    if not alts or any(factor == TYPO for _key, factor, _mark in alts):
        return True
    if any(syn in touched for syn in _SYN.get(term, ())):
        return True
    return any(term in key for key in touched)


_INDEXES: dict[str, TextIndex] = {}
_INDEXES_LOCK = threading.Lock()


def index_for(session: Session) -> TextIndex:
    """This database's index, up to date with what ``session`` sees. Callers hold
    ``index.lock`` while they use it."""
    bind = session.get_bind()
    url = str(getattr(bind, "url", None) or bind.engine.url)
    with _INDEXES_LOCK:
        index = _INDEXES.setdefault(url, TextIndex())
    count = session.scalar(select(func.count()).select_from(CatalogEntry)) or 0
    stamp = (changes.current(session, "catalog_text"), count)
    with index.lock:
        index.refresh(session, stamp)
    return index


def mark(text: str | None, words: Iterable[str]) -> Markup:
    """``text`` escaped, with every occurrence of ``words`` (case-insensitive) in <mark>."""
    text = text or ""
    folded = normalize(text)
    if len(folded) != len(text):
        folded = text
    spans: list[tuple[int, int]] = []
    for w in sorted({w for w in words if w}, key=len, reverse=True):
        start = folded.find(w)
        while start >= 0:
            spans.append((start, start + len(w)))
            start = folded.find(w, start + len(w))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, at = [], 0
    for start, end in merged:
        out.append(escape(text[at:start]))
        out.append(Markup("<mark>{}</mark>").format(text[start:end]))
        at = end
    out.append(escape(text[at:]))
    return Markup("").join(out)
