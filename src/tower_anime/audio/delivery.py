"""Delivery profiles: which loudness target a mix must reach, measured on what, within what.

`loudness.profile` names the profile. `default` is the skeleton's behaviour (the targets at
the top of `loudness`, the QC's tolerance); `ebu-r128` and `streaming` live in
`loudness.profiles` with any of your own. A profile measures either the programme (the whole
mix, EBU R128) or the dialogue stem (streaming services gate loudness on dialogue; FFmpeg's
meter is not dialogue-gated, so the stem holding only dialogue is measured). Below
`low_dialogue_share` of dialogue in the running time the programme is measured instead, at
`low_dialogue_lufs` (the streaming rule for programmes with little speech).
"""

from __future__ import annotations

from typing import Any


def resolve_profile(cfg: dict[str, Any]) -> dict[str, Any]:
    """The active profile of a config (its `loudness`, and `qc` when present) as one dict:
    name, integrated_lufs, tolerance_lu, true_peak_dbtp, measure, low_dialogue_share..."""
    loud = cfg["loudness"]
    name = loud["profile"]
    if name == "default":
        qc = cfg.get("qc", {}).get("episode", {})
        return {
            "name": "default",
            "integrated_lufs": loud["integrated_lufs"],
            "true_peak_dbtp": loud["true_peak_dbtp"],
            "tolerance_lu": qc.get("loudness_tolerance_lu"),
            "measure": "programme",
            "low_dialogue_share": 0,
        }
    return {"name": name, **loud["profiles"][name]}


def reference(profile: dict[str, Any], dialogue_share: float) -> tuple[str, float]:
    """("dialogue" | "programme", target LUFS): what the mix is normalised on and to."""
    if profile["measure"] == "dialogue":
        if dialogue_share > 0 and dialogue_share >= profile.get("low_dialogue_share", 0):
            return "dialogue", profile["integrated_lufs"]
        return "programme", profile.get("low_dialogue_lufs", profile["integrated_lufs"])
    return "programme", profile["integrated_lufs"]
