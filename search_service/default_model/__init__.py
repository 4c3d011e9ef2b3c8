"""The offline default model: frozen EfficientNet-Lite0 + all-MiniLM-L6-v2 from PyPI packages, a trained
projection committed here, assembled into an open_clip ``local-dir:`` folder by ``build.ensure_model_dir``.
Only what serving needs lives here; training is ``model_training/`` at the repository root."""
