"""The repository explains itself: every link in its Markdown and every file path named
in a code comment or docstring resolves to a file inside the repository.

A clone has nothing but the repository, so a link to a sibling folder, to the machine it
was written on, or to a file since moved or deleted is a dead end for whoever reads it.
Links to the outside world (http, https, mailto) are fine and are not followed.
"""

from __future__ import annotations

import ast
import glob
import io
import itertools
import re
import subprocess
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# A Markdown link or image, `[text](target "title")`, the text possibly over several
# lines, and a reference definition, `[name]: target`.
MD_LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
MD_REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
MD_FENCE = re.compile(r"^```.*?^```", re.M | re.S)
OUTSIDE_WORLD = re.compile(r"^(?:https?|mailto):", re.I)

# Comment syntax by file kind: what counts as prose a reader follows.
HASH_COMMENT = re.compile(r"(?:^|\s)#(?![!{}])([^\n]*)")
SLASH_COMMENTS = re.compile(r"(?<![:\w\"'])//([^\n]*)|/\*(.*?)\*/", re.S)
TEMPLATE_COMMENTS = re.compile(r"\{#(.*?)#\}|<!--(.*?)-->", re.S)
CSS_COMMENT = re.compile(r"/\*(.*?)\*/", re.S)


def tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(p for p in out.splitlines() if (ROOT / p).is_file())


FILES = tracked_files()
TOP_LEVEL = sorted({p.split("/", 1)[0] for p in FILES if "/" in p})


def path_reference() -> re.Pattern[str]:
    """A path a reader would follow: one that starts with a dot or two and a slash, one under
    the machine's own folders (work, tmp, home, root), or one that starts at a top-level folder
    of the repository. Not preceded by a word, slash or dot, so an API path ending in sync or
    the words pull, sync and push joined by slashes are not taken for the sync folder."""
    part = r"[\w.*{},-]+"
    tops = "|".join(re.escape(t) for t in TOP_LEVEL)
    return re.compile(
        rf"(?<![\w./@:$-])((?:\.\.?/)+{part}(?:/{part})*/?"
        rf"|/(?:work|tmp|home|root)/{part}(?:/{part})*/?"
        rf"|(?:{tops})/(?:{part}(?:/{part})*/?)?)"
    )


PATH_REF = path_reference()


def expand_braces(text: str) -> list[str]:
    """`server/{demo,cli}.py` stands for two files, as in a shell."""
    match = re.search(r"\{([^{}]*)\}", text)
    if not match:
        return [text]
    head, tail = text[: match.start()], text[match.end() :]
    return list(
        itertools.chain.from_iterable(expand_braces(head + choice + tail) for choice in match.group(1).split(","))
    )


def bases_for(source: str, target: str, in_link: bool) -> list[Path]:
    """Where `target` is looked for. A Markdown link is relative to its file (or to the
    repository's root when it starts with a slash); a path in prose that starts with `./` or
    `../` is relative to its file, one that starts at a top-level folder to the root."""
    here = ROOT / Path(source).parent
    if target.startswith("/"):
        return [ROOT] if in_link else [Path("/")]
    if in_link or target.startswith("."):
        return [here]
    return [ROOT, here]


def problem(source: str, target: str, in_link: bool) -> str | None:
    """Why `target`, named in the file `source`, is not a file in the repository (or None)."""
    target = target.split("#", 1)[0].split("?", 1)[0]
    if not target:
        return None  # an anchor in the same file
    bases = bases_for(source, target, in_link)
    target = target.lstrip("/") if in_link else target
    for name in expand_braces(target):
        tried = [Path(base, name) for base in bases]
        resolved = [
            Path(match).resolve() for path in tried for match in (glob.glob(str(path)) if "*" in name else [path])
        ]
        if any(path != ROOT and ROOT not in path.parents for path in resolved):
            return f"{source}: {name} leaves the repository"
        if not any(path.exists() for path in resolved):
            return f"{source}: {name} does not exist"
    return None


def markdown_links(text: str) -> list[str]:
    text = MD_FENCE.sub("", text)
    return MD_LINK.findall(text) + MD_REFERENCE.findall(text)


def python_prose(text: str) -> list[str]:
    """Comments and docstrings (any string that stands alone as a statement)."""
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    prose = [tok.string[1:] for tok in tokens if tok.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            if isinstance(node.value.value, str):
                prose.append(node.value.value)
    return prose


def comment_prose(path: str, text: str) -> list[str]:
    if path.endswith(".py"):
        return python_prose(text)
    if path.endswith((".js", ".mjs")):
        return ["".join(g for g in m.groups() if g) for m in SLASH_COMMENTS.finditer(text)]
    if path.endswith(".html"):
        return ["".join(g for g in m.groups() if g) for m in TEMPLATE_COMMENTS.finditer(text)]
    if path.endswith(".css"):
        return CSS_COMMENT.findall(text)
    if path.endswith(".toml") or path.startswith(("bin/", ".ci/")) or path == "Procfile":
        return HASH_COMMENT.findall(text)
    return []


def problems_in(path: str, text: str) -> list[str]:
    found = []
    if path.endswith(".md"):
        for target in markdown_links(text):
            if not OUTSIDE_WORLD.match(target):
                found.append(problem(path, target, in_link=True))
        prose = [MD_FENCE.sub("", text)]
    else:
        prose = comment_prose(path, text)
    for chunk in prose:
        for target in PATH_REF.findall(chunk):
            found.append(problem(path, target.rstrip(".,;:"), in_link=False))
    return list(dict.fromkeys(p for p in found if p))


def test_every_link_and_path_named_in_the_repository_resolves_inside_it():
    problems = []
    for path in FILES:
        if path.startswith("server/migrations/versions/"):
            continue  # generated
        try:
            text = (ROOT / path).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # images and other binaries name no paths
        problems.extend(problems_in(path, text))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("README.md", "See [the notes](../outside/notes.md)."),
        ("docs/app.md", "[gone](removed.md)"),
        ("docs/app.md", "[ref]: ../../elsewhere.md"),
        ("server/x.py", "# the contract: ../outside/contract.md\nx = 1\n"),
        ("server/x.py", '"""As docs/nothing-here.md says."""\n'),
        ("pwa/js/x.js", "// see /home/someone/notes/access.md\n"),
        ("server/templates/x.html", "{# from tests/no_such_test.py #}"),
    ],
)
def test_a_link_out_of_the_repository_or_to_nothing_is_reported(path, text):
    assert problems_in(path, text)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("README.md", "[protocol](docs/sync-protocol.md#pull) and [w](https://example.org/x)"),
        ("pwa/README.md", "[docs](../docs/access.md)"),
        ("server/x.py", "# as tests/staff/test_access.py and server/staff/{results,exports}.py do\n"),
        ("server/x.py", 'URL = "../../etc/passwd"  # a string in code, not prose\n'),
        ("pwa/js/x.js", 'fetch("/api/sync"); // pull/sync/push: tests/browser/test_pwa*.py\n'),
    ],
)
def test_a_link_inside_the_repository_is_accepted(path, text):
    assert problems_in(path, text) == []


# ---------------------------------------------------------------- function length

LONGEST_FUNCTION = 60


def _long_functions(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"{path.relative_to(root)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > LONGEST_FUNCTION
    ]


def test_no_function_in_the_product_is_longer_than_a_screen():
    """server/ and sync/ (not migrations, which Alembic writes): complexity is C901 in ruff."""
    files = [p for p in (ROOT / "server").rglob("*.py") if "migrations" not in p.parts]
    files += list((ROOT / "sync").rglob("*.py"))
    too_long = [entry for path in sorted(files) for entry in _long_functions(path)]
    assert too_long == [], "split these (at most 60 lines each):\n" + "\n".join(too_long)


def test_the_length_check_sees_a_long_function(tmp_path):
    body = "\n".join(f"    x{n} = {n}" for n in range(LONGEST_FUNCTION))
    path = tmp_path / "probe.py"
    path.write_text(f"def long_one():\n{body}\n\n\ndef short_one():\n    return 1\n")
    assert _long_functions(path, tmp_path) == [f"probe.py:1 long_one ({LONGEST_FUNCTION + 1} lines)"]
