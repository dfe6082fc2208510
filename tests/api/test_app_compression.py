"""The app's files travel compressed (brotli or gzip), and unchanged files answer 304."""

import gzip

import brotli
import pytest

from server.pwa import PWA_DIR, minified


@pytest.mark.parametrize(
    ("accept", "encoding"),
    [("br, gzip", "br"), ("gzip, deflate", "gzip"), ("gzip;q=0, br", "br"), ("identity", None), ("", None)],
)
@pytest.mark.parametrize("path", ["js/app.js", "css/app.css", "js/i18n/ur.js"])
def test_text_files_are_compressed_when_the_browser_accepts_it(client, path, accept, encoding):
    response = client.get(f"/app/{path}", headers={"Accept-Encoding": accept})
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    body = response.get_data()
    original = minified(path, (PWA_DIR / path).read_bytes())  # sent minified, then compressed
    if encoding == "br":
        body = brotli.decompress(body)
    elif encoding == "gzip":
        body = gzip.decompress(body)
    assert body == original
    if encoding:
        assert len(response.get_data()) < len(original) / 2


def test_shell_and_service_worker_are_compressed_too(client):
    for path in ("/app/", "/app/sw.js"):
        response = client.get(path, headers={"Accept-Encoding": "gzip, br"})
        assert response.headers["Content-Encoding"] == "br", path


def test_an_unchanged_file_answers_304(client):
    first = client.get("/app/js/app.js", headers={"Accept-Encoding": "br"})
    again = client.get("/app/js/app.js", headers={"Accept-Encoding": "br", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_files_outside_the_shell_are_still_refused(client):
    assert client.get("/app/icons/make_icons.py").status_code == 404
    assert client.get("/app/../pyproject.toml").status_code == 404
