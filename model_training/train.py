"""Train the default model's image projection (LiT: both towers frozen, only the head learns).

    .venv/bin/python -m model_training.train    # from the repository root; --help lists every option

It writes ``search_service/default_model/weights/projection.safetensors`` (``--out`` elsewhere); the
service's model id is a hash of that file, so new weights mean a new id and a reindex.

Inputs (see sources.py; none is needed to *run* the service, only to retrain):
  * Noto Color Emoji + CLDR names/keywords: ``apt-get install fonts-noto-color-emoji unicode-cldr-core``
  * ``@iconify-json/*`` sets: ``(cd .data/iconify && npm pack @iconify-json/emojione ...)`` for each set in
    ``sources.EMOJI_ICON_SETS + sources.NOTO_ICON_SETS`` (the command prints the exact line when one is missing)

The run is seeded; features are cached under ``.data/default_model/cache`` (resumable, tqdm progress),
so a second run only retrains the head. ``--smoke`` trains a few steps on generated shapes (used by
``model_training/tests/test_train_smoke.py``); ``--no-noto`` leaves out every Noto picture (the
generalisation check).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from search_service.default_model import build

from . import features, sources

DEFAULT_CACHE = build.REPO_ROOT / ".data" / "default_model" / "cache"
DEFAULT_ICONIFY = build.REPO_ROOT / ".data" / "iconify"
# The shipped head's icon sets (v2, chosen on the validation tier, see benchmarks/RESULTS.md "Default model:
# retrieval quality"): v1's sets without the test style fxemoji, + streamline-freehand-color and maki (the best
# v2 candidate), + the validation tier's category set streamline-ultimate-color (the shipped head trains on
# training + validation data); never a test set of model_training/evaluation.py (fxemoji, icon-park).
V2_EXTRA_SETS = ("streamline-freehand-color", "maki")
V2_ICON_SETS = (
    *(s for s in sources.EMOJI_ICON_SETS + sources.NOTO_ICON_SETS if s != "fxemoji"),
    *V2_EXTRA_SETS,
    "streamline-ultimate-color",
)
SHIPPED_ICON_SETS = V2_ICON_SETS


@dataclass
class TrainConfig:
    head: str = "linear"  # "linear" or "mlp" (timm's Mlp, 1280 -> 768 -> 384)
    epochs: int = 40
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 0.05
    feature_dropout: float = 0.2
    init_temperature: float = 0.05
    name_prob: float = 0.5  # chance of training on the name rather than a keyword prompt
    variants: int = 2  # clean picture + 1 augmented copy per item
    balance: float = 0.0  # sample each picture with probability ~ (pictures of its source) ** -balance
    category_prob: float = 0.0  # chance of training on the publisher's category ("food drinks"), when it has one
    seed: int = 0
    # > 0: also tune a copy of the trunk's last stage + conv_head + bn2 (frozen statistics) at this learning rate,
    # on the cached stage-5 maps (``input_kind``); 0: the towers stay frozen, only the head learns.
    tune_lr: float = 0.0


# The shipped recipe's training (v2): exactly what its validation measured (20 epochs; an augmented copy per
# picture was not measured). TrainConfig() itself stays v1's recipe (40 epochs, 2 variants).
V2_CONFIG = TrainConfig(epochs=20, variants=1)
SHIPPED_CONFIG = V2_CONFIG
# v3: v2's data and training on the multi-block features (default_model/multiblock.py), the validation winner.
SHIPPED_FEATURES = build.MULTIBLOCK_FEATURES


# ----------------------------------------------------------------------------- data
@dataclass
class Dataset:
    items: list[sources.Item]
    image_feats: list[np.ndarray]  # one (N, 1280) matrix per variant
    prompt_ids: list[list[int]]  # per item, indices into texts
    texts: list[str]
    text_feats: np.ndarray  # (T, 384), normalised
    concepts: np.ndarray  # (N,) int: items with the same concept are positives of each other
    category_ids: np.ndarray  # (N,) int: index into texts of the item's category, -1 when it has none


def text_table(items: Sequence[sources.Item]) -> tuple[list[str], list[list[int]], np.ndarray, np.ndarray]:
    """(texts, prompt ids per item, category text id per item or -1, concept id per item) of a training set."""
    index: dict[str, int] = {}
    prompt_ids = [[index.setdefault(p, len(index)) for p in it.prompts()] for it in items]
    category_ids = np.array([index.setdefault(it.category, len(index)) if it.category else -1 for it in items])
    keys = {k: i for i, k in enumerate(sorted({concept_key(it) for it in items}))}
    concepts = np.array([keys[concept_key(it)] for it in items])
    return list(index), prompt_ids, category_ids, concepts


def concept_key(item: sources.Item) -> str:
    return item.emoji or "name:" + sources.concept_id(item.name)


def input_kind(cfg: TrainConfig) -> str:
    """The cached image features a head of this config reads (``features.KINDS``): the stage-5 maps when it tunes
    the last stage, else the pooled trunk features."""
    return "stage5" if cfg.tune_lr else "pooled"


def make_dataset(
    towers: features.Towers,
    cache: Path,
    items: Sequence[sources.Item],
    variants: int,
    loader=sources.load_image,
    kinds: Sequence[str] = ("pooled",),
) -> Dataset:
    """The training set of ``items``: per variant, the features of ``kinds`` side by side (see features.py)."""
    items = list(items)
    image_feats = [
        features.side_by_side(
            [features.training_feature_matrix(towers, cache, items, v, loader=loader, kind=k) for k in kinds]
        )
        for v in range(variants)
    ]
    texts, prompt_ids, category_ids, concepts = text_table(items)
    text_feats = features.text_feature_matrix(towers, cache, texts)
    return Dataset(items, image_feats, prompt_ids, texts, text_feats, concepts, category_ids)


def split_groups(items: Sequence[sources.Item], seed: int = 0) -> tuple[list[sources.Item], list[sources.Item]]:
    """Two halves by group (man/woman/person variants of one emoji stay together)."""
    groups = sorted({it.group for it in items})
    random.Random(seed).shuffle(groups)
    half = set(groups[: len(groups) // 2])
    return [it for it in items if it.group in half], [it for it in items if it.group not in half]


def without_concepts(train: Sequence[sources.Item], test: Sequence[sources.Item]) -> list[sources.Item]:
    """Training items that share no emoji group, no emoji and no normalised concept with any test item (no
    concept leaks; "flag-for-flag-united-states" meets "flag: United States", "thumbsup" meets "thumbs up")."""
    groups = {it.group for it in test}
    concepts = {sources.concept_id(it.name) for it in test} | {
        sources.concept_id(it.key) for it in test if it.source != "noto"
    }
    concepts.discard("")
    emoji = {it.emoji for it in test if it.emoji}
    return [
        it
        for it in train
        if it.group not in groups
        and it.emoji not in emoji
        and sources.concept_id(it.name) not in concepts
        and sources.concept_id(it.key) not in concepts
    ]


# ----------------------------------------------------------------------------- model
def make_stage(tower: str = "lite0"):
    """A trainable copy of the image trunk's last stage, its 1x1 head convolution and ``bn2`` (ImageNet weights):
    stage-5 maps in, the 1280-d maps before pooling out (``pooled_features``). Its state dict keys are the trunk's
    own (``blocks.6.0.conv_pw.weight``, ``conv_head.weight``, ``bn2.weight``, ...), so that ``head_state`` serves
    it under open_clip's ``visual.trunk.`` names."""
    import timm
    import torch.nn as nn

    trunk = timm.create_model(build.TOWERS[tower][0], pretrained=False, num_classes=0)
    trunk.load_state_dict(build.efficientnet_trunk_state_dict(tower=tower))
    last = len(trunk.blocks) - 1
    return nn.ModuleDict(
        {"blocks": nn.ModuleDict({str(last): trunk.blocks[last]}), "conv_head": trunk.conv_head, "bn2": trunk.bn2}
    )


def make_head(kind: str, in_features: int = build.IMAGE_FEATURES, tune_tower: str | None = None):
    """The trained part: a linear or MLP projection into MiniLM's space (``proj`` / ``mlp``), and with
    ``tune_tower`` also a tuned last stage of that tower (``stage``, see ``make_stage``)."""
    import torch.nn as nn
    from timm.layers import Mlp

    if kind == "linear":
        modules = {"proj": nn.Linear(in_features, build.EMBED_DIM, bias=True)}
    elif kind == "mlp":  # exactly open_clip TimmModel's head for timm_proj="mlp", timm_proj_bias=True
        modules = {"mlp": Mlp(in_features, 2 * build.EMBED_DIM, build.EMBED_DIM, bias=(True, True))}
    else:
        raise ValueError(f"unknown head {kind!r}")
    if tune_tower:
        modules["stage"] = make_stage(tune_tower)
    return nn.ModuleDict(modules)


def pooled_features(head, x):
    """What the projection reads, from a batch of the head's inputs: the pooled trunk features themselves, or for a
    head with a tuned stage, its stage-5 maps through that stage and the trunk's average pool."""
    import torch

    if "stage" not in head:
        return x
    stage = head["stage"]
    x = x.float().contiguous(memory_format=torch.channels_last)
    for block in stage["blocks"].values():
        x = block(x)
    return stage["bn2"](stage["conv_head"](x)).mean((2, 3))


def project(head, x):
    return head["proj"](x) if "proj" in head else head["mlp"](x)


def apply_head(head, x):
    return project(head, pooled_features(head, x))


def set_training(head, mode: bool) -> None:
    """Train or evaluation mode; a tuned stage stays in evaluation mode (its BatchNorm layers keep the ImageNet
    running statistics, their affine weights still learn; the stage has no dropout)."""
    head.train(mode)
    if "stage" in head:
        head["stage"].eval()


def train_head(data: Dataset, cfg: TrainConfig, log=print, tower: str = "lite0"):
    """InfoNCE between projected image features and frozen text vectors; returns (head, logit_scale, final loss).
    With ``cfg.tune_lr`` the inputs are stage-5 maps and the tower's last stage learns too, at that rate."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    in_features = build.IMAGE_FEATURES if cfg.tune_lr else data.image_feats[0].shape[1]
    head = make_head(cfg.head, in_features, tower if cfg.tune_lr else None)
    logit_scale = torch.nn.Parameter(torch.tensor(math.log(1 / cfg.init_temperature)))
    n = len(data.items)
    batch = min(cfg.batch_size, n)
    steps_per_epoch = max(1, n // batch)
    total = steps_per_epoch * cfg.epochs
    projection = [p for name, p in head.named_parameters() if not name.startswith("stage.")]
    groups = [
        {"params": projection, "weight_decay": cfg.weight_decay, "lr": cfg.lr},
        {"params": [logit_scale], "weight_decay": 0.0, "lr": cfg.lr},
    ]
    if cfg.tune_lr:
        groups.append({"params": list(head["stage"].parameters()), "weight_decay": cfg.weight_decay, "lr": cfg.tune_lr})
    opt = torch.optim.AdamW(groups, lr=cfg.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g["lr"] for g in groups], total_steps=total, pct_start=0.1)
    # Features stay as cached (the stage-5 maps are float16, ~19 KB a picture); each batch is converted.
    img = [torch.from_numpy(m) for m in data.image_feats[: cfg.variants]]
    txt = torch.from_numpy(data.text_feats)
    concepts = torch.from_numpy(data.concepts)
    category_ids = torch.from_numpy(data.category_ids)
    set_training(head, True)
    last = float("nan")
    sizes: dict[str, int] = {}
    for it in data.items:
        sizes[it.source] = sizes.get(it.source, 0) + 1
    weights = np.array([sizes[it.source] ** -cfg.balance for it in data.items])
    for epoch in range(cfg.epochs):
        order = rng.permutation(n) if not cfg.balance else rng.choice(n, size=n, p=weights / weights.sum())
        losses = []
        for step in range(steps_per_epoch):
            idx = order[step * batch : (step + 1) * batch]
            var = rng.integers(0, len(img), size=len(idx))
            x = torch.stack([img[v][i] for v, i in zip(var, idx, strict=True)])
            x = F.dropout(pooled_features(head, x), p=cfg.feature_dropout, training=True)
            prompts = []
            for i in idx:
                ids = data.prompt_ids[i]
                if cfg.category_prob and data.category_ids[i] >= 0 and rng.random() < cfg.category_prob:
                    prompts.append(int(data.category_ids[i]))
                    continue
                use_name = len(ids) == 1 or rng.random() < cfg.name_prob
                prompts.append(ids[0] if use_name else ids[rng.integers(1, len(ids))])
            t = txt[prompts]
            v = F.normalize(project(head, x), dim=-1)
            logits = logit_scale.exp().clamp(max=100) * v @ t.T
            c = concepts[idx]
            # Positives: the same concept, or a picture of the category whose name another row was trained on.
            target = (c[:, None] == c[None, :]) | (category_ids[idx][:, None] == torch.tensor(prompts)[None, :])
            target = target.float()
            loss = 0.5 * (
                F.cross_entropy(logits, target / target.sum(1, keepdim=True))
                + F.cross_entropy(logits.T, target / target.sum(0, keepdim=True).T)
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        last = float(np.mean(losses))
        if log and (epoch % 10 == 0 or epoch == cfg.epochs - 1):
            log(f"epoch {epoch + 1}/{cfg.epochs} loss {last:.4f} temperature {1 / logit_scale.exp().item():.4f}")
    set_training(head, False)
    return head, float(logit_scale.detach()), last


def embed_images(head, feats: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Normalised embeddings of the head's inputs (pooled features, or stage-5 maps for a tuned stage), in batches."""
    import torch
    import torch.nn.functional as F

    with torch.inference_mode():
        out = [
            F.normalize(apply_head(head, torch.from_numpy(np.asarray(feats[s : s + batch_size], np.float32))), dim=-1)
            for s in range(0, len(feats), batch_size)
        ]
    return torch.cat(out).numpy() if out else np.zeros((0, build.EMBED_DIM), np.float32)


def head_state(head) -> dict:
    """The head's tensors under open_clip's names: ``visual.head.*``, and a tuned stage's ``visual.trunk.*`` (which
    ``default_model.build.full_state_dict`` lays over the frozen trunk)."""

    def served_name(key: str) -> str:
        return f"visual.trunk.{key.removeprefix('stage.')}" if key.startswith("stage.") else f"visual.head.{key}"

    return {served_name(k): v.detach().contiguous() for k, v in head.state_dict().items()}


def load_head(state: dict, kind: str, tune_tower: str | None = None):
    """A head (evaluation mode) from its own state dict (``proj.*`` / ``mlp.*``, and ``stage.*`` when it tunes
    ``tune_tower``'s last stage); its input width is read off the first layer."""
    import torch

    first = state["proj.weight"] if "proj.weight" in state else state["mlp.fc1.weight"]
    head = make_head(kind, first.shape[1], tune_tower)
    head.load_state_dict({k: v.to(torch.float32) if v.is_floating_point() else v for k, v in state.items()})
    set_training(head, False)
    return head


def head_from_state(tensors: dict, meta: dict):
    """The inverse of ``head_state``: the head (evaluation mode) of a projection file's tensors and metadata."""
    trunk = {k.removeprefix("visual.trunk."): v for k, v in tensors.items() if k.startswith("visual.trunk.")}
    state = {k.removeprefix("visual.head."): v for k, v in tensors.items() if k.startswith("visual.head.")}
    state.update({f"stage.{k}": v for k, v in trunk.items()})
    return load_head(state, meta.get("head", "linear"), meta.get("tower", "lite0") if trunk else None)


def save_projection(path: Path, head, logit_scale: float, cfg: TrainConfig, extra: dict | None = None) -> Path:
    from safetensors.torch import save_file

    meta = {
        "head": cfg.head,
        "head_bias": "true",
        "logit_scale": f"{logit_scale:.6f}",
        "train_config": json.dumps(asdict(cfg), sort_keys=True),
    }
    meta.update({k: str(v) for k, v in (extra or {}).items()})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(head_state(head), str(path), metadata=meta)
    return path


# ----------------------------------------------------------------------------- metrics
def retrieval_ranks(image_embs: np.ndarray, query_embs: np.ndarray, targets: Sequence[int]) -> np.ndarray:
    """1-based rank of each query's target image among all images (cosine, best first); ties (identical
    pictures) count half, as a random tie-break would on average."""
    sims = query_embs @ image_embs.T
    target_sims = sims[np.arange(len(targets)), np.asarray(targets)]
    return (sims > target_sims[:, None]).sum(1) + 1 + ((sims == target_sims[:, None]).sum(1) - 1) / 2


def recall_summary(ranks: np.ndarray) -> dict:
    return {
        "R@1": float((ranks <= 1).mean()),
        "R@5": float((ranks <= 5).mean()),
        "R@10": float((ranks <= 10).mean()),
        "mean_rank": float(ranks.mean()),
        "queries": len(ranks),
    }


# ----------------------------------------------------------------------------- items
def collect_items(
    noto: bool = True,
    iconify_dir: Path = DEFAULT_ICONIFY,
    icon_sets: Sequence[str] = sources.EMOJI_ICON_SETS + sources.NOTO_ICON_SETS,
) -> list[sources.Item]:
    cldr = sources.load_cldr()
    items = sources.noto_items(cldr) if noto else []
    for package in sources.find_iconify_packages(iconify_dir, icon_sets):
        items += sources.iconify_items(package, cldr)
    return sources.share_categories(items)


SMOKE_SHAPES = ("circle", "square", "triangle", "star")
SMOKE_COLOURS = {"red": (220, 30, 30), "green": (30, 170, 60), "blue": (40, 70, 220)}


def smoke_items() -> list[sources.Item]:
    """Twelve generated pictures (a coloured shape each) for the CI smoke test: no font, no npm."""
    return [
        sources.Item("smoke", f"{c}-{s}", f"{c} {s}", (c, s), f"{c}-{s}") for s in SMOKE_SHAPES for c in SMOKE_COLOURS
    ]


def draw_smoke(item: sources.Item):
    from PIL import Image, ImageDraw

    colour, shape = item.key.split("-")
    fill = SMOKE_COLOURS[colour] + (255,)
    im = Image.new("RGBA", (96, 96), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    if shape == "circle":
        d.ellipse((10, 10, 86, 86), fill=fill)
    elif shape == "square":
        d.rectangle((14, 14, 82, 82), fill=fill)
    elif shape == "triangle":
        d.polygon([(48, 8), (88, 86), (8, 86)], fill=fill)
    else:
        d.regular_polygon((48, 48, 40), 5, fill=fill)
        d.regular_polygon((48, 48, 20), 5, rotation=36, fill=fill)
    return im


# ----------------------------------------------------------------------------- CLI
def main(argv: Sequence[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m model_training.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=build.PROJECTION_PATH)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--iconify-dir", type=Path, default=DEFAULT_ICONIFY)
    parser.add_argument("--no-noto", action="store_true", help="leave out the Noto font and @iconify-json/noto*")
    parser.add_argument("--smoke", action="store_true", help="a few steps on generated shapes (CI)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tower", default="lite0", choices=sorted(build.TOWERS), help="frozen image tower")
    parser.add_argument(
        "--features",
        default=SHIPPED_FEATURES,
        choices=["pooled", build.MULTIBLOCK_FEATURES],
        help="the head's input: the pooled tower output, or it and the last three stages pooled (multi-block)",
    )
    parser.add_argument(
        "--icon-sets",
        default=",".join(SHIPPED_ICON_SETS),
        help="comma-separated @iconify-json sets to train on (besides the Noto font)",
    )
    for name, value in asdict(SHIPPED_CONFIG).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    args = parser.parse_args(argv)
    cfg = TrainConfig(**{k: getattr(args, k) for k in asdict(TrainConfig())})

    started = time.time()
    towers = features.Towers(args.cache, threads=args.threads, tower=args.tower)
    cache = args.cache if args.tower == "lite0" else args.cache / args.tower
    if args.smoke:
        items, loader = smoke_items(), draw_smoke
    else:
        icon_sets = tuple(s for s in args.icon_sets.split(",") if s and not (args.no_noto and s.startswith("noto")))
        items, loader = collect_items(not args.no_noto, args.iconify_dir, icon_sets), sources.load_image
    print(f"{len(items)} training pictures from {sorted({it.source for it in items})}")
    if cfg.tune_lr and args.features != "pooled":
        parser.error("--tune-lr tunes the last stage on the pooled features only: add --features pooled")
    kinds = [input_kind(cfg)] if cfg.tune_lr else args.features.split(",")
    data = make_dataset(towers, cache, items, cfg.variants, loader=loader, kinds=kinds)
    head, logit_scale, loss = train_head(data, cfg, tower=args.tower)
    extra = {"items": len(items), "final_loss": f"{loss:.4f}", "tower": args.tower, "features": args.features}
    if not args.smoke:
        extra["icon_sets"] = json.dumps(list(icon_sets))
    out = save_projection(args.out, head, logit_scale, cfg, extra)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) in {time.time() - started:.0f} s")
    return out


if __name__ == "__main__":
    main()
