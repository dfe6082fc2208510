"""The join QR code in Chromium: it decodes to the join link; the poster and the confirm page pass axe."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import ROOT, assert_no_axe_violations
from tests.browser.test_staff_pages import _project_url

pytestmark = pytest.mark.browser
JSQR_JS = ROOT / "tests" / "node" / "node_modules" / "jsqr" / "dist" / "jsQR.js"

# Draw the SVG on a canvas at its own size and read it with jsQR (an independent decoder).
DECODE = """async (svg) => {
  const img = new Image();
  img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svg);
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width; canvas.height = img.height;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height);
  const found = jsQR(data.data, data.width, data.height);
  return found ? found.data : null;
}"""


def _decode(context, svg: str) -> str | None:
    reader = context.new_page()  # about:blank: no page CSP in the way of a data: image
    reader.add_script_tag(content=JSQR_JS.read_text())
    svg = svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1)
    try:
        return reader.evaluate(DECODE, svg)
    finally:
        reader.close()


@pytest.mark.parametrize("where", ["project", "poster"])
def test_qr_code_decodes_to_the_join_link(page, context, live_server, where):
    project_url = _project_url(page, live_server)
    code = page.locator(".join-code").first.inner_text().strip()
    if where == "poster":
        page.get_by_role("link", name=re.compile("Poster to print")).click()
        page.wait_for_load_state()
        assert page.locator(".code").inner_text().strip() == code
        assert_no_axe_violations(page)
        svg = page.locator(".qr svg").evaluate("e => e.outerHTML")
    else:
        svg = page.locator(".qr-box svg").evaluate("e => e.outerHTML")
    assert _decode(context, svg) == f"{live_server.url}/app/#/join/{code}"
    assert project_url


def test_make_a_new_code_asks_first(page, live_server):
    _project_url(page, live_server)
    old = page.locator(".join-code").first.inner_text().strip()
    page.get_by_role("link", name="Make a new code").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Make a new join code?"
    assert old in page.locator("main").inner_text()
    assert_no_axe_violations(page)
    page.get_by_role("link", name=re.compile("No, keep")).click()
    page.wait_for_load_state()
    assert page.locator(".join-code").first.inner_text().strip() == old
