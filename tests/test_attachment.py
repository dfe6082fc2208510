"""Download names in any script: an ASCII fallback and the full name in filename* (RFC 5987)."""

import pytest
from werkzeug.http import parse_options_header

from server.attachment import attachment

# (parts, extension) -> (ASCII filename, the name a browser shows), written by hand.
NAMES = [
    (["withus", "Short breaks", "feedback"], "csv", "withus-short-breaks-feedback.csv", None),
    (["withus", "Café au lait", "data"], "xlsx", "withus-cafe-au-lait-data.xlsx", "withus-café-au-lait-data.xlsx"),
    (["withus", "خاندان کی رائے", "answers"], "csv", "withus-answers.csv", "withus-خاندان-کی-رائے-answers.csv"),
    (
        ["withus", 'Ünïcödé / "quotes"; x', "actions"],
        "csv",
        "withus-unicode-quotes-x-actions.csv",
        "withus-ünïcödé-quotes-x-actions.csv",
    ),
    (["", "!!!"], "csv", "download.csv", None),
]


@pytest.mark.parametrize(("parts", "extension", "ascii_name", "full_name"), NAMES)
def test_header_names_the_file_in_ascii_and_in_full(parts, extension, ascii_name, full_name):
    header = attachment(parts, extension)

    assert header.isascii()
    kind, options = parse_options_header(header)
    assert kind == "attachment"
    assert f'filename="{ascii_name}"' in header
    # werkzeug decodes filename* into "filename", as a browser would.
    assert options["filename"] == (full_name or ascii_name)
    assert ("filename*=UTF-8''" in header) == (full_name is not None)
