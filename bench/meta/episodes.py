"""N-way K-shot episodes from meta-training data: labeled tasks and SMLMT tasks.

SMLMT (Subset Masked Language Modeling Tasks, Bansal et al., EMNLP 2020)
turns unlabeled text into classification tasks. It picks N words and takes
sentences that contain each word. The word is replaced by the mask token, and
the label of a sentence is the word that was masked.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from bench.data import LabeledSet
from bench.protocol import MetaTrainingData
from bench.seeding import derive_seed, numpy_rng

SMLMT_SOURCE = "smlmt"
MASK_TOKEN = "[MASK]"

# Lower-case alphabetic words of at least 3 letters; apostrophes and digits split words.
_WORD = re.compile(r"[a-z]{3,}")

# Function words that carry no topic, so masking them makes an uninformative task.
_STOPWORDS = frozenset(
    """
    the and for are but not you all any can had her was one our out has him his how man new now old see
    two way who boy did its let put say she too use that with have this will your from they know want
    been good much some time very when come here just like long make many over such take than them well
    were what which their there would about could other these those then into more also only after first
    where while should because being does doing done each every most same both few own off upon why may
    might must shall yet nor per via get got just able across again against among around before below
    between during through under until above down further once whom whose itself himself herself myself
    themselves ourselves yourself yours hers ours theirs what's isn aren wasn weren don doesn didn won
    wouldn shouldn couldn can't haven hasn hadn http https www com
    """.split()
)


@dataclass(frozen=True)
class Episode:
    """One few-shot task: a support set, a query set, and where it came from."""

    support: LabeledSet
    query: LabeledSet
    source: str  # task name, or "smlmt" for a self-supervised task


class _SmlmtIndex:
    """Word -> indices of unlabeled sentences containing it, for words in enough sentences."""

    def __init__(self, sentences: tuple[str, ...], min_sentences: int, max_vocabulary: int) -> None:
        postings: dict[str, list[int]] = {}
        for index, sentence in enumerate(sentences):
            for word in set(_WORD.findall(sentence.lower())):
                if word not in _STOPWORDS:
                    postings.setdefault(word, []).append(index)
        counts = Counter({word: len(ids) for word, ids in postings.items() if len(ids) >= min_sentences})
        # Sort by frequency then spelling so the vocabulary does not depend on hash order.
        ranked = sorted(counts, key=lambda word: (-counts[word], word))[:max_vocabulary]
        self.vocabulary: tuple[str, ...] = tuple(sorted(ranked))
        self.postings: dict[str, np.ndarray] = {word: np.asarray(postings[word]) for word in self.vocabulary}


class EpisodeSampler:
    """Deterministic N-way K-shot episodes: episode `index` depends only on (seed, index).

    `split="train"` draws from `data.tasks` and, with probability
    `smlmt_share`, from SMLMT tasks built on `data.unlabeled`;
    `split="validation"` draws from `data.validation` only. Labels are
    renumbered 0..ways-1 in a fresh random class order per episode.
    """

    def __init__(
        self,
        data: MetaTrainingData,
        ways: int,
        shots: int,
        queries: int,
        smlmt_share: float,
        seed: int,
        split: str = "train",
        *,
        mask_token: str = MASK_TOKEN,
        max_vocabulary: int = 20000,
    ) -> None:
        if split not in ("train", "validation"):
            raise ValueError(f"invalid split {split!r}; use 'train' or 'validation'")
        if ways < 2 or shots < 1 or queries < 1:
            raise ValueError(f"invalid episode shape ways={ways}, shots={shots}, queries={queries}; need ways >= 2, shots >= 1, queries >= 1")
        if not 0.0 <= smlmt_share <= 1.0:
            raise ValueError(f"invalid smlmt_share {smlmt_share}; it is a probability in [0, 1]")
        self.data = data
        self.ways = ways
        self.shots = shots
        self.queries = queries
        self.seed = seed
        self.split = split
        self.mask_token = mask_token
        self.max_vocabulary = max_vocabulary
        self.smlmt_share = smlmt_share if split == "train" else 0.0

        pool = data.tasks if split == "train" else data.validation
        per_class = shots + queries
        # Per task: the classes with at least K + Q examples, and each class's example indices.
        self._class_index: dict[str, dict[int, np.ndarray]] = {}
        for name in sorted(pool):
            labeled = pool[name]
            if labeled.is_ner:
                continue
            by_class: dict[int, list[int]] = {}
            for i, label in enumerate(labeled.labels):
                by_class.setdefault(label, []).append(i)
            eligible = {label: np.asarray(ids) for label, ids in sorted(by_class.items()) if len(ids) >= per_class}
            if len(eligible) >= ways:
                self._class_index[name] = eligible
        self._pool = pool
        self._task_names = tuple(sorted(self._class_index))
        self._smlmt: _SmlmtIndex | None = None

        if self.smlmt_share < 1.0 and not self._task_names:
            raise ValueError(
                f"no {split} task has {ways} classes with at least {per_class} examples each; "
                f"lower ways/shots/queries or set smlmt_share=1.0"
            )
        if self.smlmt_share > 0.0 and not data.unlabeled:
            raise ValueError("smlmt_share > 0 needs unlabeled sentences in MetaTrainingData.unlabeled; set smlmt_share=0")

    @property
    def task_names(self) -> tuple[str, ...]:
        """Labeled tasks that can fill an episode of this shape."""
        return self._task_names

    def smlmt_vocabulary(self) -> tuple[str, ...]:
        """Words that SMLMT tasks mask (built once, on first use)."""
        return self._smlmt_index().vocabulary

    def sample(self, index: int) -> Episode:
        rng = numpy_rng(derive_seed(self.seed, "episode", self.split, index))
        use_smlmt = self.smlmt_share > 0.0 and (not self._task_names or rng.random() < self.smlmt_share)
        if use_smlmt:
            return self._sample_smlmt(rng)
        return self._sample_labeled(rng)

    def _sample_labeled(self, rng: np.random.Generator) -> Episode:
        name = self._task_names[int(rng.integers(len(self._task_names)))]
        labeled = self._pool[name]
        by_class = self._class_index[name]
        labels = sorted(by_class)
        # rng.choice without replacement returns the classes in random order: that order is the relabeling.
        chosen = [labels[i] for i in rng.choice(len(labels), size=self.ways, replace=False)]
        support_rows: list[tuple[int, int]] = []
        query_rows: list[tuple[int, int]] = []
        for new_label, label in enumerate(chosen):
            picks = rng.choice(by_class[label], size=self.shots + self.queries, replace=False)
            support_rows += [(int(i), new_label) for i in picks[: self.shots]]
            query_rows += [(int(i), new_label) for i in picks[self.shots :]]
        label_names = tuple(labeled.label_names[label] for label in chosen)
        return Episode(
            support=self._subset(labeled, support_rows, label_names, rng),
            query=self._subset(labeled, query_rows, label_names, rng),
            source=name,
        )

    @staticmethod
    def _subset(
        labeled: LabeledSet, rows: list[tuple[int, int]], label_names: tuple[str, ...], rng: np.random.Generator
    ) -> LabeledSet:
        order = rng.permutation(len(rows))
        rows = [rows[i] for i in order]
        indices = [i for i, _ in rows]
        return LabeledSet(
            kind=labeled.kind,
            label_names=label_names,
            ids=tuple(labeled.ids[i] for i in indices),
            texts=tuple(labeled.texts[i] for i in indices),
            text_pairs=tuple(labeled.text_pairs[i] for i in indices) if labeled.text_pairs is not None else None,
            labels=tuple(label for _, label in rows),
        )

    def _smlmt_index(self) -> _SmlmtIndex:
        if self._smlmt is None:
            self._smlmt = _SmlmtIndex(self.data.unlabeled, self.shots + self.queries, self.max_vocabulary)
            if len(self._smlmt.vocabulary) < self.ways:
                raise ValueError(
                    f"SMLMT needs {self.ways} words that each occur in {self.shots + self.queries} unlabeled "
                    f"sentences, found {len(self._smlmt.vocabulary)}; add unlabeled text or set smlmt_share=0"
                )
        return self._smlmt

    def _sample_smlmt(self, rng: np.random.Generator) -> Episode:
        index = self._smlmt_index()
        per_class = self.shots + self.queries
        used: set[int] = set()
        words: list[str] = []
        picks_per_word: list[list[int]] = []
        # Walk the vocabulary in random order; skip a word whose sentences were taken by earlier words,
        # so that no sentence appears under two labels.
        for position in rng.permutation(len(index.vocabulary)):
            word = index.vocabulary[int(position)]
            free = [int(i) for i in index.postings[word] if int(i) not in used]
            if len(free) < per_class:
                continue
            picks = [free[int(i)] for i in rng.choice(len(free), size=per_class, replace=False)]
            used.update(picks)
            words.append(word)
            picks_per_word.append(picks)
            if len(words) == self.ways:
                break
        if len(words) < self.ways:
            raise ValueError(
                f"SMLMT could not find {self.ways} words with {per_class} unused sentences each; add unlabeled text"
            )

        support_rows: list[tuple[str, int, int]] = []
        query_rows: list[tuple[str, int, int]] = []
        for label, (word, picks) in enumerate(zip(words, picks_per_word)):
            # Same word boundaries as _WORD: any non-letter ends a word.
            pattern = re.compile(rf"(?<![a-z]){word}(?![a-z])", re.IGNORECASE)
            for slot, sentence_index in enumerate(picks):
                masked = pattern.sub(self.mask_token, self.data.unlabeled[sentence_index])
                row = (masked, sentence_index, label)
                (support_rows if slot < self.shots else query_rows).append(row)
        label_names = tuple(words)
        return Episode(
            support=self._smlmt_set(support_rows, label_names, rng),
            query=self._smlmt_set(query_rows, label_names, rng),
            source=SMLMT_SOURCE,
        )

    @staticmethod
    def _smlmt_set(rows: list[tuple[str, int, int]], label_names: tuple[str, ...], rng: np.random.Generator) -> LabeledSet:
        rows = [rows[i] for i in rng.permutation(len(rows))]
        return LabeledSet(
            kind="classification",
            label_names=label_names,
            ids=tuple(f"{SMLMT_SOURCE}:{sentence_index}" for _, sentence_index, _ in rows),
            texts=tuple(text for text, _, _ in rows),
            labels=tuple(label for _, _, label in rows),
        )
