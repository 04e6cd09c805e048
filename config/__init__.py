"""Settings: one TOML file plus PECFLOW_* environment overrides, validated at start."""

from config.settings import ConfigError, Settings, load_settings, masked_settings

__all__ = ["ConfigError", "Settings", "load_settings", "masked_settings"]
