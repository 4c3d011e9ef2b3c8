"""Three-tier evaluation of a training recipe: training data, validation (every choice), test (reported once
per shipped model, never used for a choice). Only allowed data; the reserved sets are never read.

Every figure is text -> image with image embeddings only (titles and tags hidden), computed from the cached
trunk features, which go through the same preprocessing as search_service's ``index_images``
(``encoders.base.model_input``); ``benchmarks/quality.py`` checks that the shipped head on these features
gives the embeddings the service's encoder gives.

Validation (two heads per recipe, neither sees a validation or test set):
  * ``noto A``: trained on Noto half B + the recipe's icon sets minus every concept of half A; the CLDR name of
    each half-A emoji finds its picture among half A (R@10).
  * ``style streamline-emojis``: a whole art style held out (its pictures and its concepts); the CLDR name
    of each of its emoji finds its picture among the set's emoji pictures (R@1, R@10).
  * ``categories streamline-ultimate-color``: the publisher's category names are the queries, the
    category's icons are relevant, precision@10 among the pictures of the set's everyday categories
    (``EVERYDAY_CATEGORIES``: interface categories such as "Edit" or "Arrows" are not sticker art).
Test (held out from every head of every recipe; validation sets may be training data here):
  * ``noto B``: the mirror of ``noto A`` (trained on half A).
  * ``style fxemoji``: a second whole style held out, as above.
  * ``categories icon-park``: category precision@10 for the head trained on all the recipe's data.
  * ``cross-style``: trained without any Noto (no font, no ``@iconify-json/noto*``), all Noto emoji.
The validation score that picks a recipe is the mean of noto A R@10, style R@10 and category P@10.
A recipe that tunes the last tower stage (``cfg.tune_lr``) trains and embeds from the cached stage-5 maps
(``Recipe.inputs``), through its tuned copy of that stage, as the served model would.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import features, sources
from .dataset import Dataset, split_groups, text_table, without_concepts
from .heads import embed_images, load_head
from .loop import train_head
from .metrics import recall_summary, retrieval_ranks
from .recipe import V2_CONFIG, V2_ICON_SETS, TrainConfig, input_kind

VAL_STYLE, TEST_STYLE = "streamline-emojis", "fxemoji"
VAL_CATEGORIES, TEST_CATEGORIES = "streamline-ultimate-color", "icon-park"
VAL_SETS = (VAL_STYLE, VAL_CATEGORIES)
TEST_SETS = (TEST_STYLE, TEST_CATEGORIES)
MIN_CATEGORY = 10  # categories with fewer icons are not queries
# Only the publishers' categories of everyday things (what stickers show) are tested, among the pictures of
# these categories; interface categories ("Edit", "Arrows", "InterfaceEssential", ...) are left out. Fixed
# from the category names alone, before any measurement.
EVERYDAY_CATEGORIES = {
    VAL_CATEGORIES: (
        "FoodDrinks",
        "HealthBeauty",
        "Sports",
        "Transportation",
        "Weather",
        "EntertainmentEventsHobbies",
        "MusicAudio",
        "Science",
        "ShoppingEcommerce",
        "MoneyPaymentsFinance",
        "ShippingDelivery",
        "Users",
        "PhonesMobileDevices",
    ),
    TEST_CATEGORIES: (
        "Animals",
        "Baby",
        "Clothes",
        "Emoji",
        "Foods",
        "Game",
        "Hands",
        "Health",
        "Makeups",
        "Money",
        "Music",
        "Peoples",
        "Sports",
        "Travel",
        "Weather",
    ),
}


@dataclass(frozen=True)
class Recipe:
    """What a head is trained on and how; the tiers remove their held-out sets from ``icon_sets``."""

    label: str
    cfg: TrainConfig = field(default_factory=TrainConfig)
    icon_sets: tuple[str, ...] = sources.EMOJI_ICON_SETS + sources.NOTO_ICON_SETS
    kinds: tuple[str, ...] = ("pooled",)
    tower: str = "lite0"  # image tower (default_model.build.TOWERS)
    prior: float = 0.0  # weight of the ImageNet-class prior blended into the image embedding (not served)

    def inputs(self) -> tuple[str, ...]:
        """The cached feature kinds its heads read: ``kinds``, or the stage-5 maps when the recipe tunes the last
        tower stage (``input_kind``; that stage makes the pooled features itself)."""
        kind = input_kind(self.cfg)
        if kind == "pooled":
            return self.kinds
        if self.kinds != ("pooled",):
            raise ValueError(f"tuning the last stage makes the pooled features only, not {self.kinds}")
        return (kind,)


V1 = Recipe("v1 recipe")
# The baseline every ablation changes one thing of: v2's recipe.
TODAY = Recipe("today's recipe (v2)", V2_CONFIG, V2_ICON_SETS)


class Pool:
    """Every item any tier needs, with cached features; heads are trained on subsets of it."""

    def __init__(
        self, towers: features.Towers, cache: Path, iconify_dir: Path, icon_sets: Sequence[str], variants: int = 2
    ):
        self.towers, self.cache, self.variants = towers, cache, variants
        self.cldr = sources.load_cldr()
        self.items = sources.noto_items(self.cldr)
        self.categories: dict[str, dict[str, list[str]]] = {}
        wanted = dict.fromkeys([*icon_sets, *VAL_SETS, *TEST_SETS])
        for package in sources.find_iconify_packages(iconify_dir, wanted):
            name = sources.iconify_set_name(package)
            self.items += sources.iconify_items(package, self.cldr)
            if name in EVERYDAY_CATEGORIES:
                self.categories[name] = {
                    c: keys for c, keys in sources.iconify_categories(package).items() if c in EVERYDAY_CATEGORIES[name]
                }
        self.items = sources.share_categories(self.items)
        self.index = {it.uid: i for i, it in enumerate(self.items)}
        self._feats: dict[tuple[str, int, str], np.ndarray] = {}
        self._have: dict[tuple[str, int, str], np.ndarray] = {}
        self.heads: dict = {}
        self._other_towers: dict[str, features.Towers] = {}
        half_a, half_b = split_groups([it for it in self.items if it.source == "noto"])
        self.noto_a, self.noto_b = [self.index[it.uid] for it in half_a], [self.index[it.uid] for it in half_b]

    def of_set(self, name: str) -> list[int]:
        return [i for i, it in enumerate(self.items) if it.source == f"iconify:{name}"]

    def of_categories(self, name: str) -> list[int]:
        """The pictures of a category set's tested (everyday) categories."""
        keys = {k for icons in self.categories[name].values() for k in icons}
        return [i for i in self.of_set(name) if self.items[i].key in keys]

    def style(self, name: str) -> list[int]:
        """A held-out style's test pictures: its emoji matched to a CLDR name (the query); the rest of the set
        (names such as fxemoji's "largebluecircle") is left out of the test and of training alike."""
        return [i for i in self.of_set(name) if self.items[i].emoji]

    def noto(self) -> list[int]:
        return [i for i, it in enumerate(self.items) if it.source == "noto"]

    def feats(self, kind: str, variant: int, idx: Sequence[int], tower: str = "lite0") -> np.ndarray:
        """Features of items ``idx``, computed (and cached on disk) the first time an item is asked for; kept in
        memory as ``features.image_feature_matrix`` gives them (stage-5 maps float16, ~19 KB a picture, resident
        only for the items asked for: the zero pages of the other rows are never written)."""
        idx = list(idx)
        key = (kind, variant, tower)
        have = self._have.setdefault(key, np.zeros(len(self.items), bool))
        todo = [i for i in dict.fromkeys(idx) if not have[i]]
        if todo:
            if tower == "lite0":
                towers, cache = self.towers, self.cache
            else:  # loaded only when a recipe asks for it; its features are cached in their own folder
                if tower not in self._other_towers:
                    self._other_towers[tower] = features.Towers(self.cache, tower=tower)
                towers, cache = self._other_towers[tower], self.cache / tower
            mat = features.image_feature_matrix(towers, cache, [self.items[i] for i in todo], variant, kind=kind)
            if key not in self._feats:
                self._feats[key] = np.zeros((len(self.items), *mat.shape[1:]), mat.dtype)
            self._feats[key][todo] = mat
            have[todo] = True
        return self._feats[key][idx]

    def training_feats(self, kind: str, variant: int, idx: Sequence[int], tower: str = "lite0") -> np.ndarray:
        """What a head trains on for its ``variant``-th copy of items ``idx``, as ``features.training_feature_matrix``
        gives ``model_training.train`` (``features.per_training_variant`` over this pool's features)."""
        idx = np.asarray(list(idx), dtype=int)
        return features.per_training_variant(
            [self.items[i] for i in idx], variant, lambda v, where: self.feats(kind, v, idx[where].tolist(), tower)
        )

    def dataset(self, idx: Sequence[int], recipe: Recipe) -> Dataset:
        """A training set of items ``idx`` (features of the recipe's kinds, its number of variants)."""
        idx = list(idx)
        items = [self.items[i] for i in idx]
        texts, prompt_ids, category_ids, concepts = text_table(items)
        image_feats = [
            features.side_by_side([self.training_feats(k, v, idx, recipe.tower) for k in recipe.inputs()])
            for v in range(recipe.cfg.variants)
        ]
        return Dataset(items, image_feats, prompt_ids, texts, self.texts(texts), concepts, category_ids)

    def texts(self, texts: Sequence[str]) -> np.ndarray:
        return features.text_feature_matrix(self.towers, self.cache, list(texts))

    def training_indices(
        self, recipe: Recipe, excluded_sets: Sequence[str], noto: Sequence[int], held_out: Sequence[int] = ()
    ) -> list[int]:
        """``noto`` + the recipe's icon sets except ``excluded_sets``, minus every picture (of any source) that
        shares a concept with ``held_out``."""
        candidates = list(noto) + [i for s in recipe.icon_sets if s not in excluded_sets for i in self.of_set(s)]
        if not held_out:
            return candidates
        keep = {
            it.uid for it in without_concepts([self.items[i] for i in candidates], [self.items[i] for i in held_out])
        }
        return [i for i in candidates if self.items[i].uid in keep]


# ----------------------------------------------------------------------------- heads and metrics
@dataclass
class Head:
    head: object
    recipe: Recipe
    trained_on: int

    def embed(self, pool: Pool, idx: Sequence[int]) -> np.ndarray:
        x = features.side_by_side([pool.feats(k, 0, idx, self.recipe.tower) for k in self.recipe.inputs()])
        emb = embed_images(self.head, x)
        if self.recipe.prior:
            emb = (1 - self.recipe.prior) * emb + self.recipe.prior * imagenet_prior(pool, idx, self.recipe.tower)
            emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        return emb


def fit(pool: Pool, recipe: Recipe, idx: Sequence[int]) -> Head:
    """A head trained on items ``idx`` with the recipe (memoised: recipes that differ only in their label or in
    the prior blend, which is applied after the head, share one trained head)."""
    key = (repr(replace(recipe, label="", prior=0.0)), tuple(idx))
    if key not in pool.heads:
        pool.heads[key] = stored_head(pool, recipe, idx)
    return Head(pool.heads[key], recipe, len(idx))


# The modules whose code decides what a trained head is: a change in one retrains the stored heads.
TRAINING_CODE = ("recipe", "dataset", "heads", "loop", "features", "sources")


@functools.cache
def training_code_digest() -> str:
    """SHA-256 of the training code (``TRAINING_CODE``), read once per process."""
    folder = Path(__file__).parent
    return hashlib.sha256(b"".join((folder / f"{m}.py").read_bytes() for m in TRAINING_CODE)).hexdigest()


def stored_head(pool: Pool, recipe: Recipe, idx: Sequence[int]):
    """Training is seeded, so a head is kept on disk (``<cache>/heads``) under a hash of its recipe, of its
    training pictures' uids and of the training code (``TRAINING_CODE``: a change there retrains), and a
    later run (the final benchmark after the exploring ones) loads it."""
    from safetensors.torch import load_file, save_file

    uids = "\n".join(pool.items[i].uid for i in idx)
    code = training_code_digest()
    digest = hashlib.sha256(f"{replace(recipe, label='', prior=0.0)!r}\n{uids}\n{code}".encode()).hexdigest()[:24]
    path = Path(pool.cache) / "heads" / f"{digest}.safetensors"
    if path.exists():
        return load_head(load_file(str(path)), recipe.cfg.head, recipe.tower if recipe.cfg.tune_lr else None)
    head = train_head(pool.dataset(idx, recipe), recipe.cfg, log=None, tower=recipe.tower)[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in head.state_dict().items()}, str(path.with_suffix(".tmp")))
    path.with_suffix(".tmp").replace(path)
    return head


def imagenet_prior(pool: Pool, idx: Sequence[int], tower: str = "lite0") -> np.ndarray:
    """The zero-training embedding: ImageNet class probabilities of the frozen EfficientNet x MiniLM
    vectors of the class names (L2-normalised)."""
    from timm.data import ImageNetInfo

    from search_service.default_model import build

    info = ImageNetInfo()
    class_vecs = pool.texts([info.index_to_description(i) for i in range(info.num_classes())])
    weights = build.efficientnet_trunk_state_dict(include_classifier=True, tower=tower)
    feats = pool.feats("pooled", 0, idx, tower)
    logits = feats @ weights["classifier.weight"].numpy().T + weights["classifier.bias"].numpy()
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    emb = probs @ class_vecs
    return emb / np.linalg.norm(emb, axis=1, keepdims=True)


def name_recall(pool: Pool, emb: np.ndarray, idx: Sequence[int]) -> dict:
    """Each picture's name finds it among ``idx`` (R@1/5/10, mean rank)."""
    queries = pool.texts([pool.items[i].name for i in idx])
    return recall_summary(retrieval_ranks(emb, queries, range(len(idx))))


def category_precision(pool: Pool, set_name: str, emb: np.ndarray, idx: Sequence[int]) -> dict:
    """Publisher's category name -> its icons, precision@10 among the set's pictures (idx)."""
    position = {pool.items[i].key: n for n, i in enumerate(idx)}
    cats = {
        sources.category_query(c): {position[k] for k in keys if k in position}
        for c, keys in pool.categories[set_name].items()
    }
    cats = {c: rel for c, rel in sorted(cats.items()) if len(rel) >= MIN_CATEGORY}
    sims = pool.texts(list(cats)) @ emb.T
    top = np.argsort(-sims, axis=1, kind="stable")[:, :10]
    per = {c: float(np.mean([t in rel for t in row])) for (c, rel), row in zip(cats.items(), top, strict=True)}
    return {"P@10": float(np.mean(list(per.values()))), "queries": len(per), "per_category": per}


def validation(pool: Pool, recipe: Recipe) -> dict:
    excluded = TEST_SETS + VAL_SETS
    noto_head = fit(pool, recipe, pool.training_indices(recipe, excluded, pool.noto_b, pool.noto_a))
    # The held-out style's whole set (all its concepts) leaves training, not only its test pictures.
    style = pool.style(VAL_STYLE)
    style_head = fit(pool, recipe, pool.training_indices(recipe, excluded, pool.noto(), pool.of_set(VAL_STYLE)))
    cats = pool.of_categories(VAL_CATEGORIES)
    out = {
        "noto": name_recall(pool, noto_head.embed(pool, pool.noto_a), pool.noto_a),
        "style": name_recall(pool, style_head.embed(pool, style), style),
        "categories": category_precision(pool, VAL_CATEGORIES, style_head.embed(pool, cats), cats),
        "heads": {"noto": noto_head, "style": style_head},
    }
    out["score"] = (out["noto"]["R@10"] + out["style"]["R@10"] + out["categories"]["P@10"]) / 3
    return out


def test(pool: Pool, recipe: Recipe, shipped: Head | None = None) -> dict:
    """The test tier; ``shipped`` is the head trained on all the recipe's data (trained here when None)."""
    noto_head = fit(pool, recipe, pool.training_indices(recipe, TEST_SETS, pool.noto_a, pool.noto_b))
    style = pool.style(TEST_STYLE)
    style_head = fit(pool, recipe, pool.training_indices(recipe, TEST_SETS, pool.noto(), pool.of_set(TEST_STYLE)))
    no_noto = replace(recipe, icon_sets=tuple(s for s in recipe.icon_sets if not s.startswith("noto")))
    cross_head = fit(pool, no_noto, pool.training_indices(no_noto, TEST_SETS, []))
    shipped = shipped or fit(pool, recipe, pool.training_indices(recipe, TEST_SETS, pool.noto()))
    cats = pool.of_categories(TEST_CATEGORIES)
    return {
        "noto": name_recall(pool, noto_head.embed(pool, pool.noto_b), pool.noto_b),
        "style": name_recall(pool, style_head.embed(pool, style), style),
        "categories": category_precision(pool, TEST_CATEGORIES, shipped.embed(pool, cats), cats),
        "cross": name_recall(pool, cross_head.embed(pool, pool.noto()), pool.noto()),
        "heads": {"noto": noto_head, "style": style_head, "cross": cross_head, "shipped": shipped},
    }
