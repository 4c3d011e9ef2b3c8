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

The parts: ``recipe`` (the configuration and the shipped recipe), ``dataset`` (items, prompts, cached features),
``heads`` (the head and its weights file), ``loop`` (the training loop), ``metrics``, ``smoke`` (the generated
pictures); this module is the command.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from search_service.default_model import build

from . import features, smoke, sources
from .dataset import collect_items, make_dataset
from .heads import save_projection
from .loop import train_head
from .recipe import SHIPPED_CONFIG, SHIPPED_FEATURES, SHIPPED_ICON_SETS, TrainConfig, input_kind

DEFAULT_CACHE = build.REPO_ROOT / ".data" / "default_model" / "cache"
DEFAULT_ICONIFY = build.REPO_ROOT / ".data" / "iconify"


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
        items, loader = smoke.smoke_items(), smoke.draw_smoke
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
