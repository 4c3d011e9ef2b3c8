"""Retrieval quality of the offline default model, all in one run; writes its section of RESULTS.md.

    .venv/bin/python -m benchmarks.quality [--ablations] [--no-write] [--validation-only]

Needs the training inputs of ``model_training/train.py`` (Noto Color Emoji, CLDR, the
``@iconify-json`` tarballs in ``.data/iconify``) and reuses its feature cache in ``.data/default_model``.
Only allowed data is used, reserved sets never.

What it measures (text -> image, cosine, image embeddings only unless a blend is named):
1. The three tiers of ``model_training/evaluation.py`` (validation: held-out Noto half A, the held-out
   streamline-emojis style, streamline-ultimate-color categories; test: held-out Noto half B, the held-out
   fxemoji style, icon-park categories, cross-style = trained without any Noto, all Noto) for the shipped
   recipe (read from the committed weights' metadata) and today's (v2) recipe, side by side, plus the
   zero-training ImageNet baseline. The test tier is computed here only, never by the choice of a recipe.
2. The committed weights as served: search_service's encoder (``OpenClipEncoder``, ``index_images``'s
   preprocessing) on test pictures, checked equal to the head on the cached features, and their
   category precision on icon-park (which no training set holds).
3. ``--ablations``: one change per row, validation tier only.
4. The title/tags blend: CLDR keywords of half B (hit@10, mAP) and names with their words hidden,
   ``score = (1 - w) * image_cos + w * text_cos`` as search_service ranks; ``w`` is picked on half A
   (validation head) and only then reported on half B (test head).
5. Costs of the shipped model through open_clip: images/s at batch 8 and 32 (channels_last), ms per
   text query, resident memory.

The recipes compared are in ``benchmarks/quality_recipes.py``, the blend experiment in ``quality_blend.py``, the
served model's costs and check in ``quality_served.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before the model libraries are imported

from benchmarks import common
from benchmarks.quality_blend import blend_lines, measure_blend, pct
from benchmarks.quality_recipes import (
    CANDIDATES,
    DATA_ABLATIONS,
    ablation_recipe,
    ablation_rows,
    committed_head,
    recipe_of,
)
from benchmarks.quality_served import as_served, costs_in_fresh_process
from model_training import evaluation, features, train
from search_service.default_model import build

Tier = dict[str, Any]  # what evaluation.validation / evaluation.test return
Rows = list[tuple[str, Tier]]  # (recipe label, its validation tier)


@dataclass
class Plan:
    """The recipes to measure and the pool of pictures (with cached features) they all need."""

    today: evaluation.Recipe
    shipped: evaluation.Recipe
    recipes: list[evaluation.Recipe]  # today's, and the shipped one if it differs
    data_sets: list[str]  # the further icon sets of --data-ablations
    pool: evaluation.Pool


@dataclass
class Validation:
    tiers: dict[str, Tier]  # per recipe label
    ablations: Rows = field(default_factory=list)
    candidates: Rows = field(default_factory=list)


@dataclass
class Test:
    """The test tier per recipe label and the committed weights as served, with the zero-training baseline."""

    tiers: dict[str, Tier]
    cats: list[int]  # the test category set's pictures
    served_diff: float
    committed_cat: Tier
    previous_cat: Tier | None
    baseline: list[str]  # the baseline's cells, one per tier row


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=train.DEFAULT_CACHE)
    parser.add_argument("--iconify-dir", type=Path, default=train.DEFAULT_ICONIFY)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ablations", action="store_true", help="also measure what each ingredient adds")
    parser.add_argument(
        "--data-ablations",
        action="store_true",
        help="with --ablations: also the further icon sets (computes their features first)",
    )
    parser.add_argument(
        "--data-sets",
        default=",".join(DATA_ABLATIONS),
        help="with --data-ablations: the further sets to measure, in this order (default: all)",
    )
    parser.add_argument(
        "--budget-ablations",
        action="store_true",
        help="with --ablations: also 2 variants and 40 epochs (augmented features of every picture first)",
    )
    parser.add_argument(
        "--tower-ablation",
        action="store_true",
        help="with --ablations: also the Lite1 tower (computes Lite1 features of every picture first)",
    )
    parser.add_argument(
        "--tune-ablation",
        action="store_true",
        help="with --ablations: also tuning the last tower stage (TUNE_ABLATIONS; slow: the stage runs forward and "
        "backward on every picture of every step)",
    )
    parser.add_argument(
        "--epochs", type=int, default=0, help="train every evaluation head for this many epochs (default: the recipe's)"
    )
    parser.add_argument(
        "--variants",
        type=int,
        default=0,
        help="train every evaluation head on this many variants per picture (default: the recipe's)",
    )
    parser.add_argument(
        "--validation-only",
        action="store_true",
        help="validation tier only (for choosing a recipe); prints, never writes RESULTS.md",
    )
    parser.add_argument(
        "--candidates", action="store_true", help="also the v3 candidates (CANDIDATES), validation tier only"
    )
    parser.add_argument(
        "--previous-weights",
        type=Path,
        help="an earlier shipped projection file: its test category precision as served is reported beside",
    )
    parser.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    args = parser.parse_args()
    args.further_sets = [s for s in args.data_sets.split(",") if s] if args.ablations and args.data_ablations else []
    unknown = set(args.further_sets) - set(DATA_ABLATIONS)
    if unknown:
        parser.error(f"--data-sets: not a further set: {', '.join(sorted(unknown))}")
    return args


def plan(args: argparse.Namespace) -> Plan:
    """Today's recipe and the shipped one at the budget of --epochs/--variants, and the pool for every set."""
    shipped = recipe_of(build.PROJECTION_PATH)
    overrides = {k: v for k, v in (("variants", args.variants), ("epochs", args.epochs)) if v}
    today = replace(evaluation.TODAY, cfg=replace(evaluation.TODAY.cfg, **overrides))
    # --epochs/--variants are the budget of today's recipe and its ablations. Weights trained by today's recipe
    # are measured at that budget too (one column, as before); other shipped weights exactly as trained.
    if (shipped.icon_sets, shipped.tower, shipped.kinds) == (today.icon_sets, today.tower, today.kinds):
        shipped = replace(shipped, cfg=replace(shipped.cfg, **overrides))
    all_sets = dict.fromkeys(shipped.icon_sets + today.icon_sets + tuple(args.further_sets))
    for _, change in CANDIDATES if args.candidates else []:
        all_sets.update(dict.fromkeys(change.get("icon_sets", ())))
    towers = features.Towers(args.cache, threads=args.threads)
    pool = evaluation.Pool(towers, args.cache, args.iconify_dir, tuple(all_sets))
    same_recipe = (shipped.icon_sets, shipped.cfg, shipped.kinds, shipped.tower) == (
        today.icon_sets,
        today.cfg,
        today.kinds,
        today.tower,
    )
    return Plan(today, shipped, [today] if same_recipe else [today, shipped], args.further_sets, pool)


def summary(label: str, v: Tier) -> str:
    return (
        f"{label}: score {v['score']:.3f} noto-A R@1 {pct(v['noto']['R@1'])} R@10 {pct(v['noto']['R@10'])} "
        f"mean rank {v['noto']['mean_rank']:.1f} style R@1 {pct(v['style']['R@1'])} "
        f"R@10 {pct(v['style']['R@10'])} categories P@10 {v['categories']['P@10']:.3f}"
    )


def validate(plan: Plan, args: argparse.Namespace) -> Validation:
    """The validation tier of each recipe, of each ablation (--ablations) and candidate (--candidates)."""

    def measured(label: str, recipe: evaluation.Recipe) -> Tier:
        v = evaluation.validation(plan.pool, recipe)
        print(summary(label, v), flush=True)
        return v

    result = Validation({r.label: measured(r.label, r) for r in plan.recipes})
    if args.ablations:
        rows = ablation_rows(
            plan.data_sets, tower=args.tower_ablation, budget=args.budget_ablations, tune=args.tune_ablation
        )
        result.ablations = [(label, measured(label, ablation_recipe(plan.today, label, c))) for label, c in rows]
    if args.candidates:
        result.candidates = [(label, measured(label, ablation_recipe(plan.today, label, c))) for label, c in CANDIDATES]
    return result


def test_tier(plan: Plan, validation: Validation, args: argparse.Namespace) -> Test:
    """The test tier (today's committed weights never saw an icon-park picture: they are the category test's head
    for today), the committed (and --previous-weights) weights as served, and the zero-training baseline."""
    pool, today, shipped = plan.pool, plan.today, plan.shipped
    committed = committed_head(build.PROJECTION_PATH)
    tests = {today.label: evaluation.test(pool, today, shipped=committed if len(plan.recipes) == 1 else None)}
    if shipped.label in validation.tiers:
        tests[shipped.label] = evaluation.test(pool, shipped, shipped=committed)
    cats = pool.of_categories(evaluation.TEST_CATEGORIES)
    previous_cat = None
    if args.previous_weights:
        previous = committed_head(args.previous_weights)
        previous_cat = evaluation.category_precision(pool, evaluation.TEST_CATEGORIES, previous.embed(pool, cats), cats)
    zs_cat = evaluation.category_precision(
        pool, evaluation.TEST_CATEGORIES, evaluation.imagenet_prior(pool, cats), cats
    )
    zs_noto = evaluation.name_recall(pool, evaluation.imagenet_prior(pool, pool.noto_b), pool.noto_b)
    style = pool.style(evaluation.TEST_STYLE)
    zs_style = evaluation.name_recall(pool, evaluation.imagenet_prior(pool, style), style)
    return Test(
        tests,
        cats,
        as_served(pool, committed, cats[::40], args.threads),
        evaluation.category_precision(pool, evaluation.TEST_CATEGORIES, committed.embed(pool, cats), cats),
        previous_cat,
        [
            f"R@1 {pct(zs_noto['R@1'])}, R@10 {pct(zs_noto['R@10'])}",
            f"R@1 {pct(zs_style['R@1'])}, R@10 {pct(zs_style['R@10'])}",
            f"{zs_cat['P@10']:.3f}",
            "",
            "",
        ],
    )


# --- the section -------------------------------------------------------------------------------------------------
def command(args: argparse.Namespace) -> str:
    flags = [
        ("--ablations", args.ablations),
        ("--data-ablations", args.data_ablations),
        ("--tower-ablation", args.tower_ablation),
        (f"--variants {args.variants}", args.variants),
        (f"--epochs {args.epochs}", args.epochs),
        (f"--data-sets {args.data_sets}", args.data_ablations and set(args.further_sets) != set(DATA_ABLATIONS)),
        ("--budget-ablations", args.budget_ablations),
        ("--tune-ablation", args.tune_ablation),
        ("--candidates", args.candidates),
        (f"--previous-weights {args.previous_weights}", args.previous_weights),
    ]
    return " ".join([".venv/bin/python -m benchmarks.quality", *(flag for flag, on in flags if on)])


def tier_rows(val: Tier | None, test: Tier | None) -> list[tuple[str, str, str]]:
    """(measure, validation cell, test cell)."""

    def r(x: Tier | None) -> str:
        return f"R@1 {pct(x['R@1'])}, R@10 {pct(x['R@10'])}" if x else ""

    v, t = val or {}, test or {}
    return [
        ("held-out Noto half (validation A, test B), CLDR name -> its picture", r(v.get("noto")), r(t.get("noto"))),
        (
            f"held-out style (validation {evaluation.VAL_STYLE}, test {evaluation.TEST_STYLE}), name -> picture",
            r(v.get("style")),
            r(t.get("style")),
        ),
        (
            f"category precision@10 (validation {evaluation.VAL_CATEGORIES}, test {evaluation.TEST_CATEGORIES})",
            f"{v['categories']['P@10']:.3f}" if v else "",
            f"{t['categories']['P@10']:.3f}" if t else "",
        ),
        ("cross-style: trained without any Noto, all Noto emoji", "", r(t.get("cross"))),
        ("validation score (mean of the three R@10/P@10 above)", f"{v['score']:.3f}" if v else "", ""),
    ]


def tier_lines(plan: Plan, validation: Validation, test: Test) -> list[str]:
    pool, recipes = plan.pool, plan.recipes
    head_cells = " | ".join(f"{r.label}: validation | {r.label}: test" for r in recipes)
    lines = [
        "Three tiers (`model_training/evaluation.py`): every choice is made on the validation column; the test "
        "column is computed here, once per shipped model. Validation heads never see a validation or test set, "
        f"test heads never a test set ({', '.join(evaluation.TEST_SETS)}); a held-out style is held out with all "
        'its concepts (normalised: "flag-for-flag-united-states" = "flag: United States"). Image embeddings '
        "only (titles/tags hidden), text -> image, cosine. Noto emoji (no skin-tone variants): "
        f"{len(pool.noto())}, split by group into A = {len(pool.noto_a)} and B = {len(pool.noto_b)}.",
        "",
        f"| measure | {head_cells} | zero-training ImageNet baseline, test | goal (test) |",
        "|---|" + "---|---|" * len(recipes) + "---|---|",
    ]
    rows = [tier_rows(validation.tiers[r.label], test.tiers[r.label]) for r in recipes]
    goals = ["R@10 no worse than today's", "reported", ">= 0.55", "R@10 >= 65%", ""]
    for n, (measure, *_rest) in enumerate(rows[0]):
        cells = " | ".join(f"{rr[n][1]} | {rr[n][2]}" for rr in rows)
        lines.append(f"| {measure} | {cells} | {test.baseline[n]} | {goals[n]} |")
    return lines


def served_lines(plan: Plan, test: Test, args: argparse.Namespace) -> list[str]:
    today, shipped, cats = plan.today, plan.shipped, test.cats
    t = test.tiers.get(shipped.label) or test.tiers[today.label]
    previous = (
        f" The previous weights (`{args.previous_weights.name}`, recipe {recipe_of(args.previous_weights).cfg}) "
        f"on the same pictures: {test.previous_cat['P@10']:.3f}."
        if test.previous_cat
        else ""
    )
    return [
        f"Recipes: today's = `{json.dumps(today.icon_sets)}` + Noto font, {today.cfg}; shipped = "
        f"`{json.dumps(shipped.icon_sets)}` + Noto font, {shipped.cfg}. Test category queries "
        f"({t['categories']['queries']} everyday {evaluation.TEST_CATEGORIES} categories with >= "
        f"{evaluation.MIN_CATEGORY} icons, among their {len(cats)} pictures; the committed weights), "
        "precision@10: " + ", ".join(f"{c} {p:.1f}" for c, p in t["categories"]["per_category"].items()) + ".",
        "",
        f"As served: the committed weights through search_service's encoder (`OpenClipEncoder.encode_images`, "
        f"`index_images`' preprocessing) on {len(cats[::40])} {evaluation.TEST_CATEGORIES} pictures differ from "
        f"the head on the cached features by at most {test.served_diff:.4f} in cosine. The committed weights "
        f"(`{build.MODEL_ID}`, which no {evaluation.TEST_CATEGORIES} picture trained) as served: "
        f"**{evaluation.TEST_CATEGORIES} category precision@10 {test.committed_cat['P@10']:.3f}**." + previous,
    ]


def recipe_table(today: evaluation.Recipe, validation: Validation, rows: Rows) -> list[str]:
    """Validation tier of today's recipe and each row."""
    return [
        "| recipe | Noto A R@10 | style R@1 | style R@10 | category P@10 | validation score |",
        "|---|---|---|---|---|---|",
        *(
            f"| {label} | {pct(v['noto']['R@10'])} | {pct(v['style']['R@1'])} | {pct(v['style']['R@10'])} | "
            f"{v['categories']['P@10']:.3f} | {v['score']:.3f} |"
            for label, v in [(today.label, validation.tiers[today.label]), *rows]
        ),
    ]


def ablation_lines(plan: Plan, validation: Validation, args: argparse.Namespace) -> list[str]:
    missing_sets = [s for s in DATA_ABLATIONS if s not in plan.data_sets and s not in plan.today.icon_sets]
    not_measured = (
        ([f"the further icon sets {', '.join(missing_sets)} (`--data-ablations`)"] if missing_sets else [])
        + ([] if args.tower_ablation else ["the EfficientNet-Lite1 tower (`--tower-ablation`)"])
        + ([] if args.budget_ablations else ["2 variants and 40 epochs (`--budget-ablations`)"])
        + ["the Lite2 tower (its weights package is not installed)"]
        + ([] if args.tune_ablation else ["tuning the last tower stage on the cached stage-5 maps (`--tune-ablation`)"])
    )
    return [
        "",
        "Ablations, validation tier only (one change per row against today's recipe):",
        "",
        *recipe_table(plan.today, validation, validation.ablations),
        "",
        "Not measured: " + ", ".join(not_measured) + ".",
    ]


def candidate_lines(plan: Plan, validation: Validation) -> list[str]:
    return [
        "",
        "v3 candidates, validation tier only: combinations of the rows above that the serving path can serve "
        "(a timm tower, multi-block or not, and a linear or MLP head; not the ImageNet prior), and the same "
        "recipes at other seeds, which show how much of a margin is the seed's. The best ships if it beats "
        "today's recipe by at least 0.010 at every seed; its shipped head is trained on training + validation "
        "data (streamline-ultimate-color too), never on a test set.",
        "",
        *recipe_table(plan.today, validation, validation.candidates),
    ]


def cost_lines(threads: int) -> list[str]:
    return [
        "Costs of the shipped default model as search_service serves it (`OpenClipEncoder`, CPU, in a fresh "
        "process; peaks are the process's VmHWM):",
        "",
        *(f"- {key}: {value}" for key, value in costs_in_fresh_process(threads).items()),
    ]


def main() -> None:
    args = arguments()
    started, loads = time.time(), [common.loadavg()]
    the_plan = plan(args)
    validation = validate(the_plan, args)
    if args.validation_only:
        for label, v in [*validation.tiers.items(), *validation.ablations, *validation.candidates]:
            print(summary(label, v))
        return
    test = test_tier(the_plan, validation, args)
    shipped, today = the_plan.shipped, the_plan.today
    val_head = validation.tiers[shipped.label if shipped.label in validation.tiers else today.label]["heads"]["noto"]
    test_head = (test.tiers.get(shipped.label) or test.tiers[today.label])["heads"]["noto"]
    blend = measure_blend(the_plan.pool, val_head, test_head)
    costs = cost_lines(args.threads)
    loads.append(common.loadavg())
    elapsed = time.time() - started
    lines = [
        common.machine_line(loads),
        "",
        f"`{command(args)}`: torch threads {args.threads}; shipped model `{build.MODEL_ID}`.",
        "",
        *tier_lines(the_plan, validation, test),
        "",
        *served_lines(the_plan, test, args),
        *(ablation_lines(the_plan, validation, args) if validation.ablations else []),
        *(candidate_lines(the_plan, validation) if validation.candidates else []),
        "",
        *blend_lines(blend),
        "",
        *costs,
        "",
        f"Whole benchmark run: {elapsed:.0f} s.",
    ]
    common.write_section("default-model-quality", "Default model: retrieval quality", lines, write=not args.no_write)


if __name__ == "__main__":
    main()
