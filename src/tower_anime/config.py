"""Workflow configuration: validated against src/tower_anime/schemas/config.schema.yaml, defaults filled."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import InvalidInput, MediaError, ValidationProblem
from .schema import read_yaml, validate


def _check_backends(config, file):
    """Backend names are open (plugins add more), so they are checked against the registry."""
    from . import backends

    problems = [
        p
        for stage in backends.STAGES
        for p in backends.unknown(stage, config["backends"][stage], file, f"backends.{stage}")
    ]
    if problems:
        raise InvalidInput(problems)


def validate_config(config: dict[str, Any], file: Path | str = "config/config.yaml") -> dict[str, Any]:
    """Validate (and fill defaults into) a config dict in place; raise InvalidInput on problems."""
    validate(config, "config", file)
    loud = config["loudness"]
    if loud["profile"] != "default" and loud["profile"] not in loud["profiles"]:
        raise InvalidInput(
            [
                ValidationProblem(
                    file,
                    "loudness.profile",
                    f"unknown profile {loud['profile']!r}; expected one of {['default', *sorted(loud['profiles'])]}",
                )
            ]
        )
    _check_backends(config, file)
    _check_subtitle_limits(config, file)
    _check_ranges(config, file)
    return config


# libopus encodes 0.5 to 256 kbit/s a channel; FFmpeg refuses a rate outside that only when
# the sound (or the preview) is encoded, after every render
OPUS_KBPS_PER_CHANNEL = (0.5, 256)


def _kbps(rate: str) -> float:
    """An FFmpeg bitrate (160k, 1M, 96000) in kbit/s."""
    scale = {"k": 1.0, "M": 1000.0}.get(rate[-1:], 0.001)
    return float(rate.rstrip("kM")) * scale


def _pairs(node: Any, path: str = ""):
    """(field path, min name, max name, min, max) of every min_X/max_X pair of numbers."""
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        here = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and key.startswith("min_") and f"max_{key[4:]}" in node:
            high = node[f"max_{key[4:]}"]
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (value, high)):
                yield path, key, f"max_{key[4:]}", value, high
        yield from _pairs(value, here)


def _check_ranges(config: dict[str, Any], file: Path | str) -> None:
    """Limits that cannot hold together: a minimum over its maximum (every later check of that
    value would fail, after the renders), and an Opus bitrate the encoder refuses."""
    problems = [
        ValidationProblem(
            file,
            f"{path}.{low}" if path else low,
            f"got {lo:g}, more than {path + '.' if path else ''}{high} ({hi:g}): no value could pass; "
            f"lower {low} or raise {high}",
        )
        for path, low, high, lo, hi in _pairs(config)
        if lo > hi
    ]
    channels = config["output"]["audio_channels"]
    low, high = (k * channels for k in OPUS_KBPS_PER_CHANNEL)
    for field, rate in (
        ("output.audio_bitrate", config["output"]["audio_bitrate"]),
        ("review.preview.audio_bitrate", config["review"]["preview"]["audio_bitrate"]),
    ):
        if not low <= _kbps(rate) <= high:
            problems.append(
                ValidationProblem(
                    file,
                    field,
                    f"got {rate!r}; Opus encodes {low:g}k to {high:g}k for {channels} channels "
                    "(160k is transparent for stereo)",
                )
            )
    if problems:
        raise InvalidInput(problems)


def _check_subtitle_limits(config: dict[str, Any], file: Path | str) -> None:
    """The subtitle limits at the episode's frame rate, for every language: a shortest event
    (in frames) longer than the longest (in seconds) is refused here, by field, before any
    job, not when the first track is written."""
    from .episode.subtitles import subtitle_limits

    subs, fps = config["subtitles"], config["output"]["fps"]
    problems = []
    for lang in [None, *sorted(subs.get("languages") or {})]:
        try:
            subtitle_limits(subs, fps, lang)
        except MediaError as e:
            where = "subtitles" if lang is None else f"subtitles.languages.{lang}"
            problems.append(ValidationProblem(file, f"{where}.min_duration_frames", f"{e} (output.fps: {fps})"))
    if problems:
        raise InvalidInput(problems)


def merge_config(base: dict, extra: dict) -> dict:
    """`extra` merged into `base` key by key, as snakemake --configfile merges a later file."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge_config(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def load_config(
    path: Path | str = "config/config.yaml",
    overrides: dict[str, Any] | None = None,
    extra_files: Iterable[Path | str] = (),
) -> dict[str, Any]:
    """Read, merge extra config files (like snakemake --configfile) and overrides (like
    snakemake --config), validate. Returns a new dict."""
    data = copy.deepcopy(read_yaml(path))
    for extra in extra_files:
        merge_config(data, read_yaml(extra) or {})
    for key, value in (overrides or {}).items():
        data[key] = value
    return validate_config(data, path)
