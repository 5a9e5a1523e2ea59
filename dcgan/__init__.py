"""DCGAN Playground's engine: models, data, training, checkpoints and latent maths.

It never imports streamlit or gradio; the UIs in pages/ and space/ are thin consumers.
"""

from .config import Config, ConfigError, DataConfig, ModelConfig, TrainConfig, preset

__all__ = ["Config", "ConfigError", "DataConfig", "ModelConfig", "TrainConfig", "preset"]
