"""The site icon browsers ask for on every page."""

from pathlib import Path

ICON = Path(__file__).resolve().parent.parent / "pwa" / "icons" / "icon-192.png"


def test_favicon_is_the_apps_icon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.get_data() == ICON.read_bytes()
    assert response.get_data().startswith(b"\x89PNG\r\n\x1a\n")
