"""Read FFmpeg argument lists the way FFmpeg 5.1 does, to prove two of them equivalent: the
graph text is unescaped at both levels (graph, then filter options, as av_get_token does),
links are followed from each mapped output back to the input files, and a filter's named
options and a file's options are compared as sets (FFmpeg sets them by name); a null filter
counts as its input, which it passes on unchanged. Two argument lists are equivalent when
every output file gets the same streams, made by the same filters with the same option values
from the same inputs, with the same options."""

import re
from pathlib import Path

WS = " \n\t\r"
GLOBAL_FLAGS = {"-y", "-nostdin", "-hide_banner"}
GLOBAL_OPTIONS = {"-v", "-loglevel", "-progress"}
KEY = re.compile(r"[-\w/.]+=")


def get_token(s, i, term):
    """FFmpeg's av_get_token: up to a character of `term`, with \\x and '...' unescaped."""
    while i < len(s) and s[i] in WS:
        i += 1
    out, end = [], 0
    while i < len(s) and s[i] not in term:
        c = s[i]
        i += 1
        if c == "\\" and i < len(s):
            out.append(s[i])
            i += 1
            end = len(out)
        elif c == "'":
            while i < len(s) and s[i] != "'":
                out.append(s[i])
                i += 1
            if i < len(s):
                i += 1
                end = len(out)
        else:
            out.append(c)
    while len(out) > end and out[-1] in WS:
        out.pop()
    return "".join(out), i


def filter_options(text):
    """(positional values, sorted (name, value) pairs) of a filter's option string."""
    pos, named, i = [], {}, 0
    while i < len(text):
        m = KEY.match(text, i)
        if m:
            value, i = get_token(text, m.end(), ":")
            named[m.group()[:-1]] = value
        else:
            value, i = get_token(text, i, ":")
            pos.append(value)
        i += 1  # the ':'
    return tuple(pos), tuple(sorted(named.items()))


def _labels(s, i):
    labels = []
    while i < len(s) and s[i] == "[":
        label, i = get_token(s, i + 1, "]")
        labels.append(label)
        i += 1
        while i < len(s) and s[i] in WS:
            i += 1
    return labels, i


def parse_graph(text, default_input=None):
    """(nodes, labels): nodes are [name, options, input refs]; refs are ("link", label),
    ("pad", node, k) or ("stream", spec); labels map an output label to ("pad", node, k)."""
    nodes, labels, i, prev = [], {}, 0, None
    while True:
        while i < len(text) and text[i] in WS:
            i += 1
        if i >= len(text):
            break
        ins, i = _labels(text, i)
        name, i = get_token(text, i, "=,;[")
        opts = ""
        if i < len(text) and text[i] == "=":
            opts, i = get_token(text, i + 1, "[],;")
        refs = [("stream", x) if re.match(r"^\d+(:|$)", x) else ("link", x) for x in ins]
        if prev is not None:
            refs.append(prev)
        elif not refs and default_input is not None:
            refs.append(("stream", default_input))
        outs, i = _labels(text, i)
        n = len(nodes)
        nodes.append([name, filter_options(opts), refs])
        for k, label in enumerate(outs):
            labels[label] = ("pad", n, k)
        while i < len(text) and text[i] in WS:
            i += 1
        sep = text[i] if i < len(text) else ""
        i += 1
        prev = ("pad", n, 0) if sep == "," else None
        if sep == "," and outs:
            raise ValueError("a labelled output followed by ',' is not used in these graphs")
    return nodes, labels


def parse_args(args):
    """{output file: (sorted options, mapped stream expressions)} of an FFmpeg argument list."""
    args = [str(a) for a in args]
    if args and Path(args[0]).name == "ffmpeg":
        args = args[1:]
    inputs, pending, graph, chain, maps, outputs = [], [], None, None, [], {}
    i = 0
    while i < len(args):
        a = args[i]
        if a in GLOBAL_FLAGS:
            i += 1
        elif a in GLOBAL_OPTIONS:
            i += 2
        elif a == "-i":
            inputs.append((args[i + 1], tuple(sorted(pending))))
            pending, i = [], i + 2
        elif a == "-filter_complex":
            graph, i = args[i + 1], i + 2
        elif a == "-filter_complex_script":
            graph, i = Path(args[i + 1]).read_text(), i + 2
        elif a in ("-af", "-vf", "-filter:a", "-filter:v"):
            chain, i = (a, args[i + 1]), i + 2
        elif a == "-map":
            maps.append(args[i + 1])
            i += 2
        elif a.startswith("-") and a != "-":
            pending.append((a, args[i + 1]))
            i += 2
        else:
            outputs[a] = (tuple(sorted(pending)), tuple(maps), chain)
            pending, maps, chain = [], [], None
            i += 1
    return inputs, graph, outputs


def canonical(args):
    """The argument list as comparable data (see the module docstring)."""
    inputs, graph, outputs = parse_args(args)
    memo = {}

    def stream(spec):
        index, _, rest = spec.partition(":")
        return ("input", inputs[int(index)], rest)

    def expr(ref, nodes, labels):
        if ref[0] == "stream":
            return stream(ref[1])
        if ref[0] == "link":
            ref = labels[ref[1]]
        key = (id(nodes), ref)
        if key not in memo:
            name, opts, refs = nodes[ref[1]]
            if name == "null" and len(refs) == 1:
                memo[key] = expr(refs[0], nodes, labels)  # passes its input on (text used it to name a link)
            else:
                memo[key] = (name, opts, tuple(expr(r, nodes, labels) for r in refs), ref[2])
        return memo[key]

    nodes, labels = parse_graph(graph) if graph else ([], {})
    out = {}
    for path, (options, maps, chain) in outputs.items():
        streams = []
        for m in maps:
            if m.startswith("["):
                streams.append(expr(("link", m[1:-1]), nodes, labels))
            else:
                streams.append(stream(m))
        if chain:
            default = maps[0] if maps else ("0:a" if chain[0] in ("-af", "-filter:a") else "0:v")
            cn, cl = parse_graph(chain[1], default_input=default)
            streams = [expr(("pad", len(cn) - 1, 0), cn, cl)]
        out[path] = (options, tuple(streams))
    return out


def assert_equivalent(old, new):
    a, b = canonical(old), canonical(new)
    assert a == b, f"not equivalent:\nold {a}\nnew {b}"
