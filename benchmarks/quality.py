"""Retrieval quality of the offline default model, all in one run; writes its section of RESULTS.md.

    .venv/bin/python benchmarks/quality.py [--ablations] [--no-write]

Needs the training inputs of ``model_training/train.py`` (Noto Color Emoji, CLDR, the
``@iconify-json`` tarballs in ``.data/iconify``) and reuses its feature cache in ``.data/default_model``.
Only allowed data is used, reserved sets never.

What it measures (text -> image, cosine, computed with numpy over the model's embeddings):
1. Held-out emoji: Noto emoji split into two halves by group (man/woman/person variants together);
   the head is trained on half A plus the icon sets (minus every picture whose concept or name is in
   half B) and tested on half B: R@1/5/10 and mean rank of each emoji's CLDR name among all of B's
   pictures, image only (titles/tags hidden).
2. CLDR keywords on half B: every keyword is a query, the relevant pictures are those tagged with it;
   hit@10 and mAP, image only and blended with the title/tags text
   (``score = (1 - w) * image_cos + w * text_cos``, as search_service ranks). ``w`` is picked on the
   mirror fold (trained on B, keywords of A) and only then reported on B.
3. Zero-training baseline on half B: ImageNet class probabilities of the frozen EfficientNet times
   MiniLM vectors of the class names.
4. Without any Noto (no Noto font, no ``@iconify-json/noto*``): trained on the other icon sets only,
   R@k on all Noto emoji.
5. Costs of the shipped model through open_clip: images/s at batch 8 and 32 (channels_last), ms per
   text query, resident memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "search_service"))
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from default_model import build  # noqa: E402
from model_training import features, train  # noqa: E402
from stickers.metadata import metadata_text  # noqa: E402  (the text search_service embeds per sticker)

RESULTS = REPO / "benchmarks" / "RESULTS.md"
BEGIN, END = "<!-- default-model-quality:begin -->", "<!-- default-model-quality:end -->"
WEIGHTS = [round(0.1 * i, 1) for i in range(11)]


# ----------------------------------------------------------------------------- helpers
def subset(data: train.Dataset, idx) -> train.Dataset:
    idx = list(idx)
    return train.Dataset(
        [data.items[i] for i in idx],
        [m[idx] for m in data.image_feats],
        [data.prompt_ids[i] for i in idx],
        data.texts,
        data.text_feats,
        data.concepts[idx],
    )


def name_queries(towers, cache, items):
    return features.text_feature_matrix(towers, cache, [it.name for it in items])


def metadata_matrix(towers, cache, items):
    """Title/tags vectors, embedded from exactly the text search_service embeds for a sticker."""
    return features.text_feature_matrix(towers, cache, [metadata_text(it.name, list(it.keywords)) for it in items])


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


def tags_only_matrix(towers, cache, items):
    """Each picture's text without its title and without every tag that shares a word with the title."""
    texts = [metadata_text("", [k for k in it.keywords if not words(k) & words(it.name)]) for it in items]
    has = np.array([bool(t) for t in texts])
    vecs = np.zeros((len(items), build.EMBED_DIM), np.float32)
    if has.any():
        vecs[has] = features.text_feature_matrix(towers, cache, [t for t in texts if t])
    return vecs, has


def keyword_queries(items):
    """keyword -> indices of the items tagged with it (case-insensitive)."""
    out: dict[str, set[int]] = {}
    spelling: dict[str, str] = {}
    for i, it in enumerate(items):
        for kw in it.keywords:
            spelling.setdefault(kw.casefold(), kw)
            out.setdefault(kw.casefold(), set()).add(i)
    return [spelling[k] for k in sorted(out)], [sorted(out[k]) for k in sorted(out)]


def keyword_scores(sims: np.ndarray, relevant: list[list[int]]) -> dict:
    order = np.argsort(-sims, axis=1, kind="stable")
    hits, aps = [], []
    for row, rel in zip(order, relevant, strict=True):
        is_rel = np.isin(row, rel)
        hits.append(bool(is_rel[:10].any()))
        positions = np.flatnonzero(is_rel) + 1
        aps.append(float((np.arange(1, len(positions) + 1) / positions).mean()))
    return {"hit@10": float(np.mean(hits)), "mAP": float(np.mean(aps)), "queries": len(relevant)}


def blend(image_sims: np.ndarray, text_sims: np.ndarray, w: float, has_text: np.ndarray | None = None) -> np.ndarray:
    """search_service's score; stickers without title/tags (has_text False) keep the image score."""
    mixed = (1 - w) * image_sims + w * text_sims
    return mixed if has_text is None else np.where(has_text[None, :], mixed, image_sims)


def name_scores(sims: np.ndarray) -> dict:
    """Query i's picture is item i: R@10 and mean reciprocal rank."""
    target = sims.diagonal()[:, None]
    ranks = (sims > target).sum(1) + 1 + ((sims == target).sum(1) - 1) / 2  # ties count half
    return {"R@10": float((ranks <= 10).mean()), "MRR": float((1 / ranks).mean())}


def blend_objective(kw: dict, names: dict) -> float:
    """What w is picked for: keyword queries (words in the tags) and descriptions not in the tags alike."""
    return (kw["mAP"] + names["MRR"]) / 2


def train_and_embed(data: train.Dataset, train_idx, test_feats, cfg: train.TrainConfig):
    head, _, _ = train.train_head(subset(data, train_idx), cfg, log=None)
    return train.embed_images(head, test_feats)


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def recall_row(label: str, r: dict, goal: str) -> str:
    return (
        f"| {label} | {r['queries']} | {pct(r['R@1'])} | {pct(r['R@5'])} | {pct(r['R@10'])} | "
        f"{r['mean_rank']:.1f} | {goal} |"
    )


def kw_cells(r: dict) -> str:
    return f"{pct(r['hit@10'])} | {pct(r['mAP'])}"


# ----------------------------------------------------------------------------- experiments
def held_out_indices(data, half_train, half_test, extra_train):
    """half_train + the extra pictures that share no concept or name with half_test."""
    test_items = [data.items[i] for i in half_test]
    allowed = {it.uid for it in train.without_concepts([data.items[i] for i in extra_train], test_items)}
    return list(half_train) + [i for i in extra_train if data.items[i].uid in allowed]


def held_out_head(data, cfg, half_train, half_test, extra_train):
    indices = held_out_indices(data, half_train, half_test, extra_train)
    head, _, _ = train.train_head(subset(data, indices), cfg, log=None)
    return head


def held_out(data, towers, cache, cfg, half_train, half_test, extra_train):
    """Train on half_train + extra_train (minus test concepts); return image embeddings of half_test."""
    train_idx = held_out_indices(data, half_train, half_test, extra_train)
    return train_and_embed(data, train_idx, data.image_feats[0][half_test], cfg), len(train_idx)


def zero_shot_embeddings(towers, cache, items):
    """ImageNet class probabilities (frozen EfficientNet) times MiniLM embeddings of the class names."""
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    classes = [info.index_to_description(i) for i in range(info.num_classes())]
    class_vecs = features.text_feature_matrix(towers, cache, classes)
    feats = features.image_feature_matrix(towers, cache, items, 0)
    weights = build.efficientnet_trunk_state_dict(include_classifier=True)
    logits = feats @ weights["classifier.weight"].numpy().T + weights["classifier.bias"].numpy()
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    emb = probs @ class_vecs
    return emb / np.linalg.norm(emb, axis=1, keepdims=True)


def costs(threads: int) -> dict:
    import open_clip
    import torch
    from PIL import Image

    torch.set_num_threads(threads)
    folder = build.ensure_model_dir()
    model, _, preprocess = open_clip.create_model_and_transforms("local-dir:" + str(folder))
    model.eval().to(memory_format=torch.channels_last)
    tokenizer = open_clip.get_tokenizer("local-dir:" + str(folder))

    def rss_mb() -> int:
        return int(re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text()).group(1)) // 1024

    image = preprocess(Image.new("RGB", (96, 96), (200, 60, 60)))
    out = {
        "resident memory after loading the model (torch, open_clip and transformers alone: about 0.85 GB)": (
            f"{rss_mb()} MB"
        )
    }
    with torch.inference_mode():
        for batch in (8, 32):
            x = image.unsqueeze(0).repeat(batch, 1, 1, 1).contiguous(memory_format=torch.channels_last)
            model.encode_image(x)  # warm-up
            rounds, start = max(2, 96 // batch), time.perf_counter()
            for _ in range(rounds):
                model.encode_image(x, normalize=True)
            out[f"images/s @ batch {batch}"] = f"{rounds * batch / (time.perf_counter() - start):.0f}"
        queries = ["cat in a park", "red heart", "pizza", "a happy face with sunglasses", "rocket"] * 4
        model.encode_text(tokenizer(queries[:1]))
        times = []
        for q in queries:
            start = time.perf_counter()
            model.encode_text(tokenizer([q]), normalize=True)
            times.append(time.perf_counter() - start)
    out["load average during the run (other jobs share the 2 cores)"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    out["ms per text query (median)"] = f"{1000 * float(np.median(times)):.1f}"
    out["resident memory after the runs above"] = f"{rss_mb()} MB"
    out["peak resident memory (during the batch of 32)"] = (
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    return out


def costs_in_fresh_process(threads: int) -> dict:
    """Run costs() in a new interpreter, so that memory is the model's and not this benchmark's caches."""
    code = f"import json, sys; sys.argv=['quality']; import quality; print(json.dumps(quality.costs({threads})))"
    env = {**os.environ, "PYTHONPATH": str(REPO / "benchmarks")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=train.DEFAULT_CACHE)
    parser.add_argument("--iconify-dir", type=Path, default=train.DEFAULT_ICONIFY)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ablations", action="store_true", help="also measure what each ingredient adds")
    parser.add_argument("--no-write", action="store_true", help="print only, leave RESULTS.md alone")
    args = parser.parse_args()
    started = time.time()
    cfg = train.TrainConfig(seed=args.seed)

    towers = features.Towers(args.cache, threads=args.threads)
    items = train.collect_items(True, args.iconify_dir)
    data = train.make_dataset(towers, args.cache, items, cfg.variants)
    noto = [i for i, it in enumerate(items) if it.source == "noto"]
    half_a_items, half_b_items = train.split_groups([items[i] for i in noto], args.seed)
    uid_to_idx = {it.uid: i for i, it in enumerate(items)}
    half_a = [uid_to_idx[it.uid] for it in half_a_items]
    half_b = [uid_to_idx[it.uid] for it in half_b_items]
    icons = [i for i, it in enumerate(items) if it.source != "noto"]
    icons_no_noto = [i for i in icons if not items[i].source.startswith("iconify:noto")]
    lines: list[str] = []
    say = lines.append

    # 1. held-out half B, image only
    emb_b, n_train = held_out(data, towers, args.cache, cfg, half_a, half_b, icons)
    q_b = name_queries(towers, args.cache, half_b_items)
    ranks = train.retrieval_ranks(emb_b, q_b, range(len(half_b)))
    held = train.recall_summary(ranks)

    # 2. keywords: pick w on the mirror fold (train B, test A), report on B
    emb_a, _ = held_out(data, towers, args.cache, cfg, half_b, half_a, icons)
    meta_a = metadata_matrix(towers, args.cache, half_a_items)
    meta_b = metadata_matrix(towers, args.cache, half_b_items)
    kw_a, rel_a = keyword_queries(half_a_items)
    kq_a = features.text_feature_matrix(towers, args.cache, kw_a)
    kw_b, rel_b = keyword_queries(half_b_items)
    kq_b = features.text_feature_matrix(towers, args.cache, kw_b)
    # Names as queries, the title hidden and every tag sharing a word with it dropped: the query's words are
    # not in the sticker's own text, so the picture has to help (stickers left without tags score by image).
    tags_a, has_a = tags_only_matrix(towers, args.cache, half_a_items)
    tags_b, has_b = tags_only_matrix(towers, args.cache, half_b_items)
    q_a = name_queries(towers, args.cache, half_a_items)
    pick = {
        w: (
            keyword_scores(blend(kq_a @ emb_a.T, kq_a @ meta_a.T, w), rel_a),
            name_scores(blend(q_a @ emb_a.T, q_a @ tags_a.T, w, has_a)),
        )
        for w in WEIGHTS
    }
    best_w = max(WEIGHTS, key=lambda w: blend_objective(*pick[w]))
    kw_rows = {w: keyword_scores(blend(kq_b @ emb_b.T, kq_b @ meta_b.T, w), rel_b) for w in WEIGHTS}
    name_rows = {w: name_scores(blend(q_b @ emb_b.T, q_b @ tags_b.T, w, has_b)) for w in WEIGHTS}

    # 3. zero-training baseline on B
    zs_b = zero_shot_embeddings(towers, args.cache, half_b_items)
    zs = train.recall_summary(train.retrieval_ranks(zs_b, q_b, range(len(half_b))))
    zs_kw = keyword_scores(kq_b @ zs_b.T, rel_b)

    # 4. without any Noto: icon sets except noto*, tested on all Noto emoji
    all_noto_items = [items[i] for i in noto]
    emb_noto = train_and_embed(data, icons_no_noto, data.image_feats[0][noto], cfg)
    q_noto = name_queries(towers, args.cache, all_noto_items)
    no_noto = train.recall_summary(train.retrieval_ranks(emb_noto, q_noto, range(len(noto))))

    command = f".venv/bin/python benchmarks/quality.py{' --ablations' if args.ablations else ''}"
    say(
        f"Measured {dt.date.today().isoformat()} on {platform.machine()} ({os.cpu_count()} cores, "
        f"Python {platform.python_version()}, torch threads {args.threads}) by `{command}`; "
        f"model `{build.MODEL_ID}`, head `{cfg.head}`, seed {args.seed}."
    )
    say("")
    say(
        f"Noto emoji (no skin-tone variants): {len(noto)}, split by group into A = {len(half_a)} "
        f"and B = {len(half_b)}. "
        f"Icon sets: {', '.join(sorted({items[i].source.split(':')[1] for i in icons}))} ({len(icons)} icons). "
        f"Training set for the B test: A + {n_train - len(half_a)} icons whose concept/name is not in B."
    )
    say("")
    say("| text -> image, image only | queries | R@1 | R@5 | R@10 | mean rank | goal |")
    say("|---|---|---|---|---|---|---|")
    say(recall_row("held-out Noto half B, CLDR names, trained head", held, "R@10 >= 45%"))
    say(recall_row("same, zero-training baseline (ImageNet classes x MiniLM)", zs, ""))
    say(recall_row("all Noto, trained without any Noto (no font, no iconify noto*)", no_noto, "R@10 >= 25%"))
    say("")
    say(
        f"Blend on half B, `score = (1 - w) * image_cos + w * text_cos(title/tags)` as search_service ranks. "
        "Keywords: every CLDR keyword of B is a query, relevant = the pictures tagged with it, full title/tags "
        f"({kw_rows[0.0]['queries']} queries). Names, words hidden: each CLDR name is a query for "
        "its picture, whose text keeps only the tags that share no word with the name (none left: image only), "
        "so the picture has to carry the match. "
        f"w is picked on the mirror fold (trained on B, queries of A) for the mean of keyword mAP and name MRR: "
        f"**w = {best_w}**."
    )
    say("")
    say("| half B | keyword hit@10 | keyword mAP | name, words hidden: R@10 | MRR | goal |")
    say("|---|---|---|---|---|---|")
    say(f"| zero-training baseline, image only | {kw_cells(zs_kw)} | {pct(zs['R@10'])} | | |")
    for w, label in (
        (0.0, "trained head, image only (w = 0)"),
        (best_w, f"**blend, w = {best_w} (chosen)**"),
        (1.0, "title/tags text only (w = 1)"),
    ):
        goal = "keyword hit@10 >= 85%" if label.startswith("**") else ""
        say(f"| {label} | {kw_cells(kw_rows[w])} | {pct(name_rows[w]['R@10'])} | {name_rows[w]['MRR']:.3f} | {goal} |")
    say("")
    say("Blend weight sweep (keyword hit@10 / keyword mAP / name-with-words-hidden R@10):")
    say("")
    say("| w | " + " | ".join(str(w) for w in WEIGHTS) + " |")
    say("|---|" + "---|" * len(WEIGHTS))
    cell = lambda kw, nm: f"{pct(kw['hit@10'])} / {pct(kw['mAP'])} / {pct(nm['R@10'])}"  # noqa: E731
    say("| fold A (picks w) | " + " | ".join(cell(*pick[w]) for w in WEIGHTS) + " |")
    say("| fold B (reported) | " + " | ".join(cell(kw_rows[w], name_rows[w]) for w in WEIGHTS) + " |")

    if args.ablations:
        say("")
        say("What moved the held-out number (trained on A [+ icons], tested on B, image only; one change per row):")
        say("")
        say("| recipe | R@1 | R@10 | mean rank | R@10, test pictures augmented (smaller, off-centre, low-res) |")
        say("|---|---|---|---|---|")
        proto = replace(cfg, name_prob=1.0, variants=1, feature_dropout=0.0)
        rows = [
            ("prototype-like: Noto half only, names only, no augmentation, linear", proto, False),
            ("+ keyword prompts (name, each keyword, name: keywords)", replace(proto, name_prob=cfg.name_prob), False),
            ("+ one augmented copy per picture and feature dropout", replace(cfg), False),
            ("+ icon sets (concepts of B removed) = shipped recipe", cfg, True),
            ("shipped recipe with an MLP head", replace(cfg, head="mlp"), True),
            ("shipped recipe, names only", replace(cfg, name_prob=1.0), True),
            ("shipped recipe, no augmentation", replace(cfg, variants=1), True),
            ("shipped recipe, no feature dropout", replace(cfg, feature_dropout=0.0), True),
        ]
        for label, variant_cfg, with_icons in rows:
            head = held_out_head(data, variant_cfg, half_a, half_b, icons if with_icons else [])
            r = train.recall_summary(
                train.retrieval_ranks(train.embed_images(head, data.image_feats[0][half_b]), q_b, range(len(half_b)))
            )
            aug = train.recall_summary(
                train.retrieval_ranks(train.embed_images(head, data.image_feats[1][half_b]), q_b, range(len(half_b)))
            )
            say(f"| {label} | {pct(r['R@1'])} | {pct(r['R@10'])} | {r['mean_rank']:.1f} | {pct(aug['R@10'])} |")

    say("")
    say("Costs of the shipped default model (open_clip, CPU, channels_last, forward pass only):")
    say("")
    for key, value in costs_in_fresh_process(args.threads).items():
        say(f"- {key}: {value}")
    say(f"\nWhole benchmark run: {time.time() - started:.0f} s.")

    section = "\n".join([BEGIN, "## Default model: retrieval quality", "", *lines, END])
    print(section)
    if not args.no_write:
        with open(RESULTS.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # other benchmark scripts write their own sections too
            text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
            if BEGIN in text and END in text:
                text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END) :]
            else:
                text = text.rstrip("\n") + "\n\n" + section + "\n"
            RESULTS.write_text(text)


if __name__ == "__main__":
    main()
