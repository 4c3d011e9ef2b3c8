"""The evaluation tiers: the held-out sets never reach a head of their tier, concepts are filtered normalised."""

import numpy as np

from model_training import evaluation, sources
from model_training.dataset import Dataset, text_table, without_concepts
from model_training.heads import embed_images
from model_training.loop import train_head
from model_training.recipe import SHIPPED_CONFIG, SHIPPED_ICON_SETS, TrainConfig
from search_service.default_model import build


def item(source, key, name, emoji="", group=""):
    return sources.Item(source, key, name, (), group or "name:" + sources.concept_id(name), emoji)


def test_test_and_validation_sets_are_disjoint_and_never_reserved():
    assert not set(evaluation.TEST_SETS) & set(evaluation.VAL_SETS)
    for name in evaluation.TEST_SETS + evaluation.VAL_SETS:
        assert not name.startswith(sources.RESERVED_ICON_SETS)


def test_a_held_out_concept_leaves_training_whatever_its_spelling():
    held_out = [item("noto", "\U0001f1fa\U0001f1f8", "flag: United States", "\U0001f1fa\U0001f1f8", "us")]
    pool = [
        item("iconify:a", "flag-for-flag-united-states", "flag for flag united states"),
        item("iconify:b", "us", "us"),
        item("iconify:c", "rocket", "rocket"),
    ]
    assert [it.key for it in without_concepts(pool, held_out)] == ["us", "rocket"]


def test_category_names_become_queries():
    assert sources.category_query("FoodDrinks") == "food drinks"
    assert sources.category_query("Animals") == "animals"


class FakePool:
    """Just what category_precision reads."""

    def __init__(self):
        self.items = [item("iconify:x", f"i{n}", f"i{n}") for n in range(20)]
        self.categories = {"x": {"Animals": [f"i{n}" for n in range(10)], "Tiny": ["i10"]}}

    def texts(self, texts):
        import numpy as np

        return np.array([[1.0, 0.0] if t == "animals" else [0.0, 1.0] for t in texts])


def test_category_precision_counts_relevant_icons_in_the_top_ten():
    import numpy as np

    pool = FakePool()
    emb = np.array([[1.0, 0.0]] * 7 + [[0.0, 1.0]] * 3 + [[0.9, 0.1]] * 10)  # 7 of 10 animals rank first
    result = evaluation.category_precision(pool, "x", emb, range(20))
    assert result["queries"] == 1  # "Tiny" has fewer than MIN_CATEGORY icons
    assert abs(result["P@10"] - 0.7) < 1e-9


def test_the_shipped_recipe_never_trains_on_a_test_set():
    assert not set(SHIPPED_ICON_SETS) & set(evaluation.TEST_SETS)


def category_dataset(seed: int = 0) -> Dataset:
    """Twelve pictures of twelve concepts in two publisher categories; random features and text vectors."""
    rng = np.random.default_rng(seed)
    cats = ["warm things"] * 6 + ["cold things"] * 6
    items = [sources.Item("iconify:x", f"thing-{n}", f"thing {n}", category=c) for n, c in enumerate(cats)]
    texts, prompt_ids, category_ids, concepts = text_table(items)
    text_feats = rng.standard_normal((len(texts), build.EMBED_DIM)).astype(np.float32)
    text_feats /= np.linalg.norm(text_feats, axis=1, keepdims=True)
    image_feats = [rng.standard_normal((len(items), 64)).astype(np.float32)]
    return Dataset(items, image_feats, prompt_ids, texts, text_feats, concepts, category_ids)


def test_category_prompts_teach_each_category_name_its_pictures():
    data = category_dataset()
    assert data.texts[data.category_ids[0]] == "warm things" and data.texts[data.category_ids[6]] == "cold things"
    assert len(set(data.concepts)) == 12  # every picture its own concept: only the category joins them

    def top6(category_prob: float) -> list[set[int]]:
        cfg = TrainConfig(epochs=200, batch_size=12, variants=1, feature_dropout=0.0, category_prob=category_prob)
        head = train_head(data, cfg, log=None)[0]
        emb = embed_images(head, data.image_feats[0])
        sims = data.text_feats[[data.category_ids[0], data.category_ids[6]]] @ emb.T
        return [set(np.argsort(-row)[:6].tolist()) for row in sims]

    assert top6(0.5) == [set(range(6)), set(range(6, 12))]
    assert top6(0.0) != [set(range(6)), set(range(6, 12))]  # without them the category names mean nothing


def test_a_tuning_recipe_reads_the_stage5_maps_and_only_with_the_pooled_recipe():
    import dataclasses

    import pytest

    assert evaluation.TODAY.inputs() == ("pooled",)
    assert dataclasses.replace(evaluation.TODAY, kinds=("pooled", "blocks")).inputs() == ("pooled", "blocks")
    tuning = dataclasses.replace(evaluation.TODAY, cfg=dataclasses.replace(SHIPPED_CONFIG, tune_lr=1e-4))
    assert tuning.inputs() == ("stage5",)
    with pytest.raises(ValueError):
        dataclasses.replace(tuning, kinds=("pooled", "blocks")).inputs()


def test_training_rows_keep_the_shape_and_dtype_of_stage5_maps():
    from model_training import features

    glyph = sources.Item("iconify:maki", "g", "g", mono=True)
    items = [item("noto", "a", "a"), glyph, item("noto", "b", "b")]

    def fetch(variant, where):  # a map per item, filled with its feature variant
        return np.full((len(where), 2, 3, 3), variant, np.float16)

    rows = features.per_training_variant(items, 0, fetch)
    assert rows.dtype == np.float16 and rows.shape == (3, 2, 3, 3)
    assert [float(r.max()) for r in rows] == [0.0, 1.0, 0.0]  # the glyph's row is its recoloured variant
