"""Language codes: what the story writes (ISO 639-1 such as ja, or ISO 639-2 such as jpn, with an
optional region: es-MX), what voices match on (the primary subtag, two letters where ISO 639-1
has one) and what Matroska tags tracks with (ISO 639-2/B, three letters), with each language's
name in itself for track names ("日本語", "Español").

A small table rather than a library: the autonyms are the only data a track menu needs, and
pycountry/langcodes bring tens of megabytes of locale data for them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

# ISO 639-1 -> (ISO 639-2/B, the language's name in itself). Covers the languages espeak-ng
# speaks that have an ISO 639-1 code; a three-letter code not listed here is used as it is.
_TABLE: dict[str, tuple[str, str]] = {
    "af": ("afr", "Afrikaans"),
    "am": ("amh", "አማርኛ"),
    "an": ("arg", "Aragonés"),
    "ar": ("ara", "العربية"),
    "as": ("asm", "অসমীয়া"),
    "az": ("aze", "Azərbaycan"),
    "ba": ("bak", "Башҡорт"),
    "be": ("bel", "Беларуская"),
    "bg": ("bul", "Български"),
    "bn": ("ben", "বাংলা"),
    "bs": ("bos", "Bosanski"),
    "ca": ("cat", "Català"),
    "cs": ("cze", "Čeština"),
    "cy": ("wel", "Cymraeg"),
    "da": ("dan", "Dansk"),
    "de": ("ger", "Deutsch"),
    "el": ("gre", "Ελληνικά"),
    "en": ("eng", "English"),
    "eo": ("epo", "Esperanto"),
    "es": ("spa", "Español"),
    "et": ("est", "Eesti"),
    "eu": ("baq", "Euskara"),
    "fa": ("per", "فارسی"),
    "fi": ("fin", "Suomi"),
    "fr": ("fre", "Français"),
    "ga": ("gle", "Gaeilge"),
    "gd": ("gla", "Gàidhlig"),
    "gn": ("grn", "Avañe'ẽ"),
    "gu": ("guj", "ગુજરાતી"),
    "he": ("heb", "עברית"),
    "hi": ("hin", "हिन्दी"),
    "hr": ("hrv", "Hrvatski"),
    "ht": ("hat", "Kreyòl ayisyen"),
    "hu": ("hun", "Magyar"),
    "hy": ("arm", "Հայերեն"),
    "ia": ("ina", "Interlingua"),
    "id": ("ind", "Bahasa Indonesia"),
    "io": ("ido", "Ido"),
    "is": ("ice", "Íslenska"),
    "it": ("ita", "Italiano"),
    "ja": ("jpn", "日本語"),
    "ka": ("geo", "ქართული"),
    "kk": ("kaz", "Қазақ"),
    "kl": ("kal", "Kalaallisut"),
    "kn": ("kan", "ಕನ್ನಡ"),
    "ko": ("kor", "한국어"),
    "ku": ("kur", "Kurdî"),
    "ky": ("kir", "Кыргызча"),
    "la": ("lat", "Latina"),
    "lb": ("ltz", "Lëtzebuergesch"),
    "lt": ("lit", "Lietuvių"),
    "lv": ("lav", "Latviešu"),
    "mi": ("mao", "Māori"),
    "mk": ("mac", "Македонски"),
    "ml": ("mal", "മലയാളം"),
    "mr": ("mar", "मराठी"),
    "ms": ("may", "Bahasa Melayu"),
    "mt": ("mlt", "Malti"),
    "my": ("bur", "မြန်မာ"),
    "nb": ("nob", "Norsk bokmål"),
    "ne": ("nep", "नेपाली"),
    "nl": ("dut", "Nederlands"),
    "no": ("nor", "Norsk"),
    "om": ("orm", "Oromoo"),
    "or": ("ori", "ଓଡ଼ିଆ"),
    "pa": ("pan", "ਪੰਜਾਬੀ"),
    "pl": ("pol", "Polski"),
    "pt": ("por", "Português"),
    "qu": ("que", "Runa Simi"),
    "ro": ("rum", "Română"),
    "ru": ("rus", "Русский"),
    "sd": ("snd", "سنڌي"),
    "si": ("sin", "සිංහල"),
    "sk": ("slo", "Slovenčina"),
    "sl": ("slv", "Slovenščina"),
    "sq": ("alb", "Shqip"),
    "sr": ("srp", "Српски"),
    "sv": ("swe", "Svenska"),
    "sw": ("swa", "Kiswahili"),
    "ta": ("tam", "தமிழ்"),
    "te": ("tel", "తెలుగు"),
    "th": ("tha", "ไทย"),
    "tk": ("tuk", "Türkmen"),
    "tn": ("tsn", "Setswana"),
    "tr": ("tur", "Türkçe"),
    "tt": ("tat", "Татар"),
    "ug": ("uig", "ئۇيغۇرچە"),
    "uk": ("ukr", "Українська"),
    "ur": ("urd", "اردو"),
    "uz": ("uzb", "Oʻzbek"),
    "vi": ("vie", "Tiếng Việt"),
    "zh": ("chi", "中文"),
}
# ISO 639-2/T codes that differ from the /B ones Matroska writes (deu and ger both mean German)
_TERMINOLOGY = {
    "sqi": "alb",
    "hye": "arm",
    "eus": "baq",
    "mya": "bur",
    "zho": "chi",
    "ces": "cze",
    "nld": "dut",
    "fra": "fre",
    "kat": "geo",
    "deu": "ger",
    "ell": "gre",
    "isl": "ice",
    "mkd": "mac",
    "mri": "mao",
    "msa": "may",
    "fas": "per",
    "ron": "rum",
    "slk": "slo",
    "cym": "wel",
}
_FROM_THREE = {three: two for two, (three, _) in _TABLE.items()}
# Matroska's codes for tracks that are not one language
SPECIAL = {"mul": "Multiple languages", "und": "Undetermined", "zxx": "No linguistic content"}
TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*\Z")


def primary(code: str) -> str | None:
    """The language a voice matches on: `ja` for ja, jpn and ja-JP; a three-letter code without
    an ISO 639-1 twin (cmn, yue) as it is; None for a code that is not a language tag."""
    if not isinstance(code, str) or not TAG.match(code):
        return None
    head = code.split("-")[0]
    if len(head) == 2:
        return head if head in _TABLE else None
    head = _TERMINOLOGY.get(head, head)
    return _FROM_THREE.get(head, head)


def matroska(code: str) -> str:
    """The ISO 639-2/B code a Matroska track or chapter is tagged with (mul, und, zxx kept)."""
    if code in SPECIAL:
        return code
    p = primary(code)
    if p is None:
        return "und"
    return _TABLE[p][0] if p in _TABLE else p


def name(code: str) -> str:
    """The language's name in itself, for a player's track menu ("日本語"); the code itself
    when the table does not know it."""
    if code in SPECIAL:
        return SPECIAL[code]
    p = primary(code)
    return _TABLE[p][1] if p in _TABLE else code


def problem(code: Any) -> str | None:
    """Why `code` is not a language tag Tower can use, or None."""
    if not isinstance(code, str) or not TAG.match(code):
        return f"got {code!r}; expected an ISO 639 language code such as ja, en, es (or jpn, eng, spa; es-MX)"
    if primary(code) is None:
        return (
            f"got {code!r}: {code.split('-')[0]!r} is not an ISO 639-1 code Tower knows; use the language's "
            "ISO 639-1 code (ja, en, es) or its ISO 639-2 code (jpn, eng, spa)"
        )
    return None


def same(a: str, b: str) -> bool:
    """Whether two codes name one language (ja, jpn and ja-JP do)."""
    return primary(a) is not None and primary(a) == primary(b)


def is_wide(ch: str) -> bool:
    """A full-width character (CJK ideographs, kana, full-width punctuation): one that sits in a
    text without spaces between words and takes a full cell in a subtitle row."""
    return unicodedata.east_asian_width(ch) in "FW"


def unspaced(ch: str) -> bool:
    """A character of text written without spaces between words (Japanese, Chinese: kanji,
    kana, full-width punctuation), where a line may break between any two characters.
    Hangul is full-width too, but Korean puts spaces between words and breaks at them."""
    return is_wide(ch) and east_asian_script(ch) != "hangul"


def text_width(text: str, half_width: float = 1.0) -> float:
    """How many characters `text` counts against a subtitle limit: every character 1, or, with
    half_width < 1 (Japanese), full-width characters 1 and the others half_width."""
    if half_width == 1:
        return len(text)
    return sum(1 if is_wide(c) else half_width for c in text)


def join_rows(rows: Iterable[str]) -> str:
    """Rows (or events) of one subtitle put back into the line's text: a space between two
    rows of words, nothing where a row ends or starts in full-width text (Japanese has no spaces)
    or where a compound was broken after its hyphen (break_units)."""
    out = ""
    for row in rows:
        row = row.strip()
        if not row:
            continue
        if out and not (unspaced(out[-1]) or unspaced(row[0]) or _after_hyphen(out, row[0])):
            out += " "
        out += row
    return out


# The East Asian scripts a voice of another language cannot read: espeak-ng and Piper (whose
# phonemizer is espeak-ng) say "Chinese letter" for every kanji in an English line, and
# OpenJTalk skips hangul. Which of them each language is written in.
_SCRIPT_RANGES = (
    ("han", 0x3400, 0x4DBF),
    ("han", 0x4E00, 0x9FFF),
    ("han", 0xF900, 0xFAFF),
    ("han", 0x20000, 0x3134F),
    ("kana", 0x3040, 0x30FF),
    ("kana", 0x31F0, 0x31FF),
    ("kana", 0xFF66, 0xFF9F),
    ("hangul", 0x1100, 0x11FF),
    ("hangul", 0x3130, 0x318F),
    ("hangul", 0xAC00, 0xD7AF),
)
_WRITTEN_IN = {"ja": {"han", "kana"}, "zh": {"han"}, "yue": {"han"}, "ko": {"hangul"}}


def east_asian_script(ch: str) -> str | None:
    """han, kana or hangul for a character of those scripts; None for any other."""
    point = ord(ch)
    for script, lo, hi in _SCRIPT_RANGES:
        if lo <= point <= hi:
            return script
    return None


def foreign_characters(text: str, code: str) -> str:
    """The characters of `text` in an East Asian script that language `code` is not written in
    (kanji in an English line, hangul in a Japanese one), each once, in order."""
    own = _WRITTEN_IN.get(primary(code) or code, set())
    found = [c for c in text if east_asian_script(c) not in own | {None}]
    return "".join(dict.fromkeys(found))


def speakable(text: str) -> bool:
    """Whether `text` has anything a voice can say: a letter or a digit of any script
    (a line of only "……", dashes or emoji has none). A modifier letter alone (the long-vowel
    mark ー, the iteration mark 々) lengthens or repeats a sound that is not there: OpenJTalk
    says nothing for "ーー！"."""
    return any(unicodedata.category(c)[0] in "LN" and unicodedata.category(c) != "Lm" for c in text)


NO_LINE_START = set("、。，．！？!?,.:;」』）)】〉》…‥ー・ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々〜～")
NO_LINE_END = set("「『（(【〈《")


def _after_hyphen(text: str, ch: str) -> bool:
    """Inside a compound (self-replicating) or a pair (in/out): a line may break after the
    hyphen or slash, so no single word is longer than a line needs to be. A row that ends in
    one is joined back without a space, so a line never breaks at the space after a hyphen
    ("pre- and post-war" keeps "pre- and" together)."""
    return len(text) > 1 and text[-1] in "-/" and text[-2].isalnum() and ch.isalnum()


def break_units(text: str) -> list[str]:
    """The pieces a line of text may break between: words with the space after them and, in
    full-width text, characters, with what may not start or end a line kept beside them
    (kinsoku shori: no line starts with 、。ー or a small kana, none ends with 「). Subtitle
    rows and the storyboard's captions both break here. Never at a space beside a character
    of unspaced text (明日 会いましょう, "the old 渋谷 station"): join_rows puts no space back
    there, so the rows would no longer spell the line."""
    text = " ".join(text.split())
    units, cur = [], ""
    for i, ch in enumerate(text):
        prev = text[i - 1] if i else ""
        can_break = (
            bool(cur)
            and ch != " "
            and not (prev == " " and (unspaced(ch) or unspaced(text[i - 2])))
            and (
                (prev == " " and not _after_hyphen(cur.rstrip(), "a"))
                or ((unspaced(prev) or unspaced(ch)) and ch not in NO_LINE_START and prev not in NO_LINE_END)
                or _after_hyphen(cur, ch)
            )
        )
        if can_break:
            units.append(cur)
            cur = ""
        cur += ch
    return units + [cur] if cur else units
