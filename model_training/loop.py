"""The training loop: InfoNCE between the head's projected image features and the frozen text vectors."""

from __future__ import annotations

import math

import numpy as np

from search_service.default_model import build

from .dataset import Dataset
from .heads import make_head, pooled_features, project, set_training
from .recipe import TrainConfig


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
