"""Training of search_service's default model, beside (not inside) the service.

search_service ships only what serving needs (``search_service/default_model/``: the model folder built
from the installed packages, and the committed head weights). Here: the data sources (``sources``), the
frozen-tower features and their on-disk cache (``features``), the configuration and the shipped recipe
(``recipe``), the training set (``dataset``), the head and its weights file (``heads``), the training loop
(``loop``), retrieval metrics (``metrics``), the generated smoke pictures (``smoke``), the training command
(``train``), the three-tier evaluation (``evaluation``, run by ``benchmarks/quality.py``) and the demo-sticker
rendering (``demo``). Run from the repository root::

    .venv/bin/python -m model_training.train    # writes search_service/default_model/weights/projection.safetensors
    .venv/bin/python -m model_training.demo     # writes search_service/demo_stickers/

Training imports search_service's modules (``search_service.default_model``, the model folder builder, and
``search_service.encoders``, the one image preprocessing that serving uses); search_service never imports this
package.
"""
