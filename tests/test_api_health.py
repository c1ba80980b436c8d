from fastapi.testclient import TestClient

from service.api.app import create_app
from service.settings import Settings


def test_healthz_and_page(full_settings: Settings) -> None:
    client = TestClient(create_app(full_settings))
    assert client.get("/healthz").json() == {"status": "ok"}
    page = client.get("/")
    assert page.status_code == 200 and "mockround" in page.text
