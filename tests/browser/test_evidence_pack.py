"""The evidence pack, printed to PDF by Chromium: every section is there, and axe finds nothing."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_staff_pages import _project_url

pytestmark = pytest.mark.browser
SECTIONS = (
    "Verdicts, stage by stage",
    "The ladder by role, against the target",
    "Reach: who took part",
    "Response rate",
    "You said, we did: actions and their timelines",
    "Learning log",
)


def test_evidence_pack_prints_to_pdf_with_every_section(page, live_server):
    response = page.goto(_project_url(page, live_server) + "/evidence")
    assert response.status == 200
    assert_no_axe_violations(page)
    pdf = page.pdf(format="A4", print_background=True)
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    for heading in SECTIONS:
        assert heading in text, heading
    for stage in ("Design", "Delivery", "Review"):
        assert stage in text
    # The demo's action is there with its words; the print hides the screen-only links.
    assert "You said:" in text
    assert "Back to the project" not in text
    # A4 pages: 210 x 297 mm is 595.3 x 841.9 points (Chromium rounds to whole pixels).
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - 595.3) < 2 and abs(float(box.height) - 841.9) < 2
