from fastapi.testclient import TestClient

from service.api.app import create_app
from service.settings import Settings


def test_healthz_and_page(full_settings: Settings) -> None:
    client = TestClient(create_app(full_settings))
    assert client.get("/healthz").json() == {"status": "ok"}
    page = client.get("/")
    assert page.status_code == 200 and "mockround" in page.text


def test_worker_threads_setting_sizes_the_thread_pool(full_settings: Settings) -> None:
    """A streaming turn holds a worker thread; the setting bounds how many stream at once."""
    import anyio.to_thread

    settings = full_settings.model_copy(update={"worker_threads": 97})
    with TestClient(create_app(settings)) as client:
        tokens = client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)
    assert tokens == 97
