"""Training of search_service's default model, beside (not inside) the service.

search_service ships only what serving needs (``search_service/default_model/``: the model folder built
from the installed packages, and the committed head weights). Here: the data sources (``sources``), the
frozen-tower features and their on-disk cache (``features``), the training command (``train``) and the
demo-sticker rendering (``demo``). Run from the repository root::

    .venv/bin/python -m model_training.train    # writes search_service/default_model/weights/projection.safetensors
    .venv/bin/python -m model_training.demo     # writes search_service/demo_stickers/

Training imports search_service's modules (the model folder builder and the one image preprocessing that
serving uses); search_service never imports this package.
"""

import sys
from pathlib import Path

# search_service is a Django project folder, not an installed package: its modules (default_model, encoders,
# stickers) are top-level names with that folder on sys.path, as when the service runs.
_SEARCH_SERVICE = str(Path(__file__).resolve().parent.parent / "search_service")
if _SEARCH_SERVICE not in sys.path:
    sys.path.append(_SEARCH_SERVICE)
