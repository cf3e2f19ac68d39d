"""Which reference a delivery profile normalises on: the dialogue stem from the low-dialogue
share up (the share itself included), the programme below it and when there is no dialogue
at all; the default profile as it is recorded."""

from tower_anime.audio.delivery import reference, resolve_profile
from tower_anime.config import validate_config

STREAMING = resolve_profile(validate_config({"loudness": {"profile": "streaming"}}))


def test_the_low_dialogue_share_itself_measures_dialogue():
    share = STREAMING["low_dialogue_share"]
    assert share == 0.15  # the shipped streaming rule
    assert reference(STREAMING, 0.15) == ("dialogue", -27)
    assert reference(STREAMING, 0.1499) == ("programme", -24)


def test_a_dialogue_profile_without_a_share_rule_measures_any_dialogue():
    # a profile of your own that gives no low_dialogue_share (nor low_dialogue_lufs)
    mine = {"name": "mine", "integrated_lufs": -23, "tolerance_lu": 1, "true_peak_dbtp": -1, "measure": "dialogue"}
    assert reference(mine, 0.5) == ("dialogue", -23)
    assert reference(mine, 0.01) == ("dialogue", -23)
    # no dialogue at all: there is nothing on the stem to measure, the programme is
    assert reference(mine, 0.0) == ("programme", -23)
    assert reference({**mine, "low_dialogue_share": 0, "low_dialogue_lufs": -20}, 0.0) == ("programme", -20)


def test_the_default_profile_as_recorded():
    assert resolve_profile(validate_config({})) == {
        "name": "default",
        "integrated_lufs": -24,
        "true_peak_dbtp": -2,
        "tolerance_lu": 1.0,
        "measure": "programme",
        "low_dialogue_share": 0,
    }
    assert reference(resolve_profile(validate_config({})), 0.0) == ("programme", -24)
