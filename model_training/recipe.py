"""What the default model's image head is trained on and how: the training configuration (``TrainConfig``) and the
shipped recipe (its icon sets, configuration and input features), which ``model_training.train`` trains by default
and ``model_training/evaluation.py`` measures."""

from __future__ import annotations

from dataclasses import dataclass

from search_service.default_model import build

from . import sources

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


def input_kind(cfg: TrainConfig) -> str:
    """The cached image features a head of this config reads (``features.KINDS``): the stage-5 maps when it tunes
    the last stage, else the pooled trunk features."""
    return "stage5" if cfg.tune_lr else "pooled"
