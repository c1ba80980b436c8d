"""The browser front end (web/) in a real headless Chromium against a real server process.

Debian's chromium (scripts/ensure-chromium.sh, run by `make test`) driven by Playwright's sync
API; never a browser downloaded by Playwright. Screenshots of each screen go to
test-artifacts/web/.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from service.settings import PROJECT_ROOT, Settings
from tests.services import free_port, start_app, stop_process

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev extra: pip install -e '.[dev]'")
expect = sync_api.expect
expect.set_options(timeout=30_000)  # a turn grades and retrieves; a shared CI machine can be slow

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page, WebSocketRoute

Shot = Callable[[str], Path]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-quic", "--disable-sync"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "web"
CASE = "clickstream-analytics"
PHASES = ["clarify", "high_level", "deep_dive", "cross_cutting", "summary"]
XSS = '<img src=x onerror="window.__xss=1"> and <script>window.__xss=1</script> done'
QUESTION = "How many events per second at peak, and who reads the dashboards?"
# substantive answers (with their reasons), so the grader credits items the scorecard can show
DESIGN = ("Collectors write to Kafka keyed by session id, because ordering within a session matters for "
          "sessionisation. Every raw event also lands unchanged in object storage, partitioned by hour, so we "
          "can replay history after a bug. Flink computes the minute-level aggregates because the dashboards "
          "need fresh numbers, and a nightly batch job rebuilds the certified daily tables.")
DEEP = ("Every event carries an event id, and the streaming job deduplicates on it within a day because mobile "
        "clients retry and would otherwise double-count. Sinks commit with Kafka transactions so a restart "
        "never writes a partial result twice. Producers register Avro schemas in a schema registry that "
        "enforces backward compatibility, so adding an optional field never breaks a consumer.")

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="no /usr/bin/chromium: run scripts/ensure-chromium.sh (make browser)"),
    pytest.mark.timeout(120, func_only=True),  # the shared full-index fixture may take minutes to build
]


# ---- a real server process (tests/services.py) ----------------------------------------------------
@pytest.fixture(scope="module")
def server(full_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("web-server")
    port = free_port()
    proc = start_app(full_settings, f"sqlite:///{tmp / 'web.db'}", port, tmp / "server.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(20_000)
    pg = context.new_page()
    problems: list[str] = []
    pg.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    # failed socket attempts while the network is cut are expected console noise; nothing else is
    pg.on("console", lambda msg: problems.append(msg.text) if msg.type == "error"
          and "WebSocket" not in msg.text and "ERR_INTERNET_DISCONNECTED" not in msg.text else None)
    yield pg
    context.close()
    assert not problems, problems


# ---- helpers ----------------------------------------------------------------------------------------
@pytest.fixture
def shot(page: Page, capsys: pytest.CaptureFixture[str]) -> Shot:
    """Save a full-page screenshot under test-artifacts/web/ and print its path (even when captured)."""

    def take(name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        with capsys.disabled():
            print(f"\nscreenshot: {path.relative_to(PROJECT_ROOT)}")
        return path

    return take


def interviewer(pg: Page) -> Locator:
    return pg.locator("#chat .msg.interviewer")


def wait_reply(pg: Page, count: int) -> None:
    """Wait until the chat holds `count` interviewer turns and none is still streaming."""
    expect(interviewer(pg)).to_have_count(count)
    expect(pg.locator("#chat .msg.interviewer[aria-busy]")).to_have_count(0)


def settle(pg: Page, base: str, session_id: str, token: str) -> None:
    """Wait until the page has seen every event the server stored for the session."""
    seq = rest(base, token, f"/v1/sessions/{session_id}")["last_seq"]
    pg.wait_for_function("([id, seq]) => window.__mockround.store.lastSeq(id) >= seq", arg=[session_id, seq])


def case_info(base: str) -> dict[str, Any]:
    res = httpx.get(f"{base}/v1/cases/{CASE}", timeout=30)
    res.raise_for_status()
    return res.json()


def start_interview(pg: Page, base: str, mode: str = "practice", minutes: int = 20) -> str:
    pg.goto(base + "/#/start")
    pg.get_by_label(case_info(base)["title"]).check()
    pg.get_by_label("Level").select_option("senior")
    pg.get_by_label("Length (minutes)").fill(str(minutes))
    pg.get_by_label("Exam" if mode == "exam" else "Practice", exact=True).check()
    pg.get_by_role("button", name="Start interview").click()
    expect(pg).to_have_url(re.compile(r"#/interview/s_\w+$"))
    expect(pg.locator("#conn")).to_have_attribute("data-state", "connected")
    wait_reply(pg, 1)
    return pg.url.rsplit("/", 1)[-1]


def answer(pg: Page, text: str) -> None:
    box = pg.get_by_label("Your answer")
    box.fill(text)
    box.press("Control+Enter")


def local(pg: Page, session_id: str) -> dict[str, Any]:
    return pg.evaluate("id => window.__mockround.store.session(id)", session_id)


def remember(pg: Page, sid: str, token: str, level: str, minutes: int) -> None:
    """Put a session created over REST into this browser's history, as the start screen would."""
    pg.evaluate("""([sid, token, level, minutes]) => window.__mockround.store.saveSession({session_id: sid, token,
        case_id: 'clickstream-analytics', case_title: 'Clickstream analytics', level, minutes,
        mode: 'practice', created_at: new Date().toISOString(), status: 'active'})""", [sid, token, level, minutes])


def rest(base: str, token: str, path: str) -> Any:
    res = httpx.get(base + path, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    res.raise_for_status()
    return res.json()


def shown(score: float) -> str:
    """A score as the page shows it (JavaScript's Math.round, not Python's banker's rounding)."""
    return str(math.floor(score + 0.5))


def rendered(pg: Page, markdown: str) -> str:
    """The text content the page's Markdown renderer makes of `markdown`."""
    return pg.evaluate("""md => { const d = document.createElement('div');
        d.append(window.__mockround.renderMarkdown(md)); return d.textContent; }""", markdown)


def no_sideways_scroll(pg: Page) -> None:
    width = pg.viewport_size["width"] if pg.viewport_size else 0
    assert pg.evaluate("() => document.documentElement.scrollWidth") <= width, f"horizontal scrolling at {width}px"


def assert_inert(pg: Page) -> None:
    """The payload is on the page as text; no element came out of it and nothing ran."""
    assert pg.evaluate("() => window.__xss") is None
    assert pg.evaluate("() => document.querySelectorAll('img, iframe, object, embed, svg image').length") == 0
    scripts = pg.evaluate("() => Array.from(document.scripts, s => s.getAttribute('src'))")
    assert scripts == ["/static/app.js"]
    assert pg.evaluate("() => Array.from(document.querySelectorAll('[onerror], [onload]')).length") == 0


# ---- tests -------------------------------------------------------------------------------------------
def test_full_short_interview_through_the_page(page: Page, server: str, shot: Shot) -> None:
    cases = httpx.get(f"{server}/v1/cases", timeout=30).json()
    info = case_info(server)
    page.goto(server + "/")
    expect(page.locator("#case-list input[name=case]")).to_have_count(len(cases))
    expect(page.locator("#case-list .case-title")).to_have_text([c["title"] for c in cases])
    page.get_by_label(info["title"]).check()
    expect(page.locator("#case-preview .preview-title")).to_have_text(info["title"])
    expect(page.locator("#case-preview .prompt")).to_have_text(rendered(page, info["prompt"]))
    expect(page.locator("#level-help")).to_contain_text(", ".join(info["levels"]))
    shot("start")
    page.get_by_label("Length (minutes)").fill("5")  # bad input gets a clear message, no request
    page.get_by_role("button", name="Start interview").click()
    expect(page.get_by_role("alert").filter(has_text="between 10 and 180")).to_be_visible()
    expect(page.get_by_label("Length (minutes)")).to_be_focused()
    expect(page).to_have_url(re.compile(r"/(#/start)?$"))

    session_id = start_interview(page, server)
    record = local(page, session_id)
    assert record["token"] and record["status"] == "active" and record["mode"] == "practice"
    token = record["token"]
    expect(page.locator("#iv-title")).to_have_text(info["title"])
    opening = rest(server, token, f"/v1/sessions/{session_id}/transcript")["turns"][0]
    expect(interviewer(page).first.locator(".body")).to_have_text(rendered(page, opening["text"]))
    expect(page.locator("#phase-list li")).to_have_count(5)
    expect(page.locator("#phase-list li[aria-current=step]")).to_have_attribute("data-phase", "clarify")
    phase = next(e for e in rest(server, token, f"/v1/sessions/{session_id}/events")["events"] if e["type"] == "phase")
    clarify = next(p for p in phase["phases"] if p["id"] == "clarify")
    budget = f"{clarify['budget_s'] // 60}:{clarify['budget_s'] % 60:02d}"
    expect(page.locator("#phase-list li[data-phase=clarify] .phase-time")).to_have_text(re.compile(rf" / {budget}$"))
    expect(page.locator("#timer")).to_have_text(re.compile(r"^\d+:\d\d / 20:00$"))
    expect(page.get_by_role("log", name="Conversation")).to_be_visible()

    answer(page, QUESTION)  # Ctrl+Enter in the textarea
    wait_reply(page, 2)
    expect(page.locator("#chat .msg.candidate").first.locator(".body")).to_have_text(QUESTION)
    expect(page.locator("#feedback .grade")).to_have_count(1)

    page.get_by_label("Your answer").press("Alt+Shift+H")  # hint by keyboard
    wait_reply(page, 3)
    expect(page.locator("#chat .msg.action").first).to_have_text(re.compile("You asked for a hint"))

    page.get_by_role("button", name="Move on").click()
    wait_reply(page, 4)
    expect(page.locator("#phase-list li[aria-current=step]")).to_have_attribute("data-phase", "high_level")
    expect(page.locator("#phase-list li[data-phase=clarify]")).to_have_class(re.compile(r"\bdone\b"))
    answer(page, DESIGN)
    wait_reply(page, 5)
    expect(page.locator("#feedback .grade")).to_have_count(2)

    count = 5
    for _ in range(8):  # deep dive may ask its stress tests before letting the candidate move on
        settle(page, server, session_id, token)
        if page.locator("#phase-list li[aria-current=step]").get_attribute("data-phase") == "cross_cutting":
            break
        page.keyboard.press("Alt+Shift+M")
        count += 1
        wait_reply(page, count)
    expect(page.locator("#phase-list li[aria-current=step]")).to_have_attribute("data-phase", "cross_cutting")

    # everything on screen is what the server said: every reply, and the feedback for each answer
    transcript = rest(server, token, f"/v1/sessions/{session_id}/transcript")["turns"]
    replies = [rendered(page, t["text"]) for t in transcript if t["role"] == "interviewer"]
    expect(interviewer(page).locator(".body")).to_have_text(replies)
    grades = [e for e in rest(server, token, f"/v1/sessions/{session_id}/events")["events"] if e["type"] == "grade"]
    assert len(grades) == 2
    for grade in grades:
        block = page.locator(f"#feedback .grade[data-turn='{grade['turn']}']")
        expect(block.locator(".met-list li")).to_have_count(len(grade["met"]))
        for n, met in enumerate(grade["met"]):
            expect(block.locator(".met-list li").nth(n).locator(".evidence")).to_have_text(met["evidence"])
        expect(block.locator(".grade-head")).to_contain_text(f"of {grade['in_scope']} in scope")
    shot("interview")

    page.keyboard.press("Alt+Shift+E")
    expect(page.get_by_role("alertdialog")).to_be_visible()
    expect(page.get_by_role("button", name="End interview")).to_be_focused()
    page.get_by_role("button", name="End interview").click()
    expect(page).to_have_url(re.compile(rf"#/scorecard/{session_id}$"))

    card = rest(server, token, f"/v1/sessions/{session_id}/scorecard")
    expect(page.locator("#sc-overall")).to_have_text(shown(card["overall"]))
    expect(page.locator("#sc-hire")).to_have_text(card["hire_call"])
    expect(page.locator(".score-hero .hire")).to_contain_text("senior level")
    expect(page.locator(".phase-scores tbody td")).to_have_text(
        [re.compile(rf"^\s*{shown(card['phases'][p])}$") for p in PHASES])
    expect(page.locator("svg#dim-chart .bar-row")).to_have_count(len(card["dimensions"]))
    expect(page.locator("svg#dim-chart .bar-value")).to_have_text([shown(v) for v in card["dimensions"].values()])
    expect(page.locator("svg#dim-chart")).to_have_attribute("role", "img")
    met = page.locator("section[aria-labelledby=sc-met-title]")
    expect(met.locator("h2")).to_have_text(f"What you covered ({len(card['met'])})")
    expect(met.locator("blockquote.evidence")).to_have_text(
        [f"“{m['evidence']}”" for m in card["met"] if m["evidence"]])
    expect(page.locator("section[aria-labelledby=sc-missed-title] h2")).to_have_text(
        f"What you missed ({len(card['missed'])})")
    expect(page.locator("section[aria-labelledby=sc-missed-title] .item-id")).to_have_text(
        [m["item_id"] for m in card["missed"]])
    expect(page.locator("section[aria-labelledby=sc-mistakes-title] h2")).to_have_text(
        f"Mistakes ({len(card['mistakes'])})")
    stress = page.locator("section[aria-labelledby=sc-stress-title]")
    expect(stress.locator("h2")).to_have_text(f"Stress tests faced ({len(card['stress_tests'])})")
    expect(stress.locator("li > strong")).to_have_text([t["title"] for t in card["stress_tests"]])
    assert card["study"], "a weak interview gets study pointers"
    expect(page.locator("section[aria-labelledby=sc-study-title] li")).to_have_text(
        [re.compile(re.escape(f"{s['source']} — {s['section']}")) for s in card["study"]])
    assert local(page, session_id)["status"] == "finished"

    with page.expect_download() as download:
        page.get_by_role("button", name="Export Markdown").click()
    exported = Path(download.value.path()).read_text()
    assert download.value.suggested_filename == f"mockround-{session_id}.md"
    res = httpx.get(f"{server}/v1/sessions/{session_id}/export?format=md", headers={"Authorization": f"Bearer {token}"})
    assert exported == res.text and QUESTION in exported
    expect(page.locator("#export-status")).to_have_text(f"Downloaded mockround-{session_id}.md")
    shot("scorecard")

    transcript = rest(server, token, f"/v1/sessions/{session_id}/transcript")["turns"]
    candidate = [(t["action"], t["text"]) for t in transcript if t["role"] == "candidate"]
    assert candidate[:4] == [("answer", QUESTION), ("hint", ""), ("move_on", ""), ("answer", DESIGN)]
    assert candidate[-1][0] == "end" and len(candidate) == count  # one per interviewer reply, then end


def test_refresh_mid_interview_continues_the_same_session(page: Page, server: str, shot: Shot) -> None:
    session_id = start_interview(page, server, mode="exam")
    expect(page.locator("#feedback")).to_contain_text("Exam mode")
    answer(page, QUESTION)
    wait_reply(page, 2)
    token = local(page, session_id)["token"]
    settle(page, server, session_id, token)
    seq = page.evaluate("id => window.__mockround.store.lastSeq(id)", session_id)

    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.reload()
    expect(page).to_have_url(re.compile(rf"#/interview/{session_id}$"))
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    wait_reply(page, 2)  # the conversation is rebuilt, not duplicated
    expect(page.locator("#chat .msg.candidate")).to_have_count(1)
    expect(page.locator("#chat .msg.candidate .body")).to_have_text(QUESTION)
    assert len(sockets) == 1 and f"last_seq={seq}" in sockets[0], sockets
    expect(page.locator("#feedback .grade")).to_have_count(0)  # exam mode: no grades before the end
    expect(page.locator("#phase-list li[aria-current=step]")).to_have_attribute("data-phase", "clarify")
    expect(page.locator("#timer")).not_to_have_text("0:00 / 0:00")

    follow_up = "Which teams read the daily figures, and how late may mobile events arrive?"
    answer(page, follow_up)
    wait_reply(page, 3)
    transcript = rest(server, token, f"/v1/sessions/{session_id}/transcript")
    assert [t["text"] for t in transcript["turns"] if t["role"] == "candidate"] == [QUESTION, follow_up]
    assert httpx.get(f"{server}/v1/sessions/{session_id}/scorecard",
                     headers={"Authorization": f"Bearer {token}"}).status_code == 409

    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(page.locator("#phase-list li")).to_have_count(5)
    no_sideways_scroll(page)
    shot("phone")
    page.get_by_role("link", name="New interview").click()
    expect(page.locator("#resume-banner")).to_be_visible()  # the unfinished interview is offered back
    expect(page.locator("#case-preview .prompt")).to_be_visible()
    no_sideways_scroll(page)
    shot("phone-start")


def test_socket_drops_reconnect_and_resend_unacknowledged_answers(page: Page, server: str, shot: Shot) -> None:
    # every socket of the page goes through this relay; `mode` decides which frame gets lost
    mode: dict[str, Any] = {"lose": None, "block": False, "swallow": None}
    sent: list[dict[str, Any]] = []
    connections: list[str] = []

    def route(ws: WebSocketRoute) -> None:
        connections.append(ws.url)
        if mode["block"]:
            ws.close(code=1011, reason="test: network down")
            return
        upstream = ws.connect_to_server()
        alive = [True]

        def cut() -> None:  # the network fails: both directions are gone
            alive[0] = False
            ws.close(code=4000, reason="test: connection lost")
            upstream.close()

        def from_page(message: str | bytes) -> None:
            if not alive[0]:
                return
            frame = json.loads(message)
            sent.append(frame)
            if frame.get("type") == "answer" and mode["lose"] == "before_server":
                mode.update(lose=None, block=True)  # lost on the way: the server never sees it
                cut()
                return
            if frame.get("type") == "answer" and mode["lose"] == "the_ack":
                mode.update(lose=None, swallow=frame["client_id"])  # the server gets it ...
            upstream.send(message)

        def from_server(message: str | bytes) -> None:
            if not alive[0]:
                return
            event = json.loads(message)
            if event.get("type") == "ack" and event.get("client_id") == mode["swallow"]:
                mode["swallow"] = None  # ... but the connection dies before its ack arrives
                cut()
                return
            ws.send(message)

        ws.on_message(from_page)
        upstream.on_message(from_server)

    page.route_web_socket(re.compile(r"/v1/sessions/[^/]+/ws"), route)
    session_id = start_interview(page, server)
    token = local(page, session_id)["token"]

    # 1. the answer is lost before it reaches the server: the page says so and sends it again
    mode["lose"] = "before_server"
    answer(page, QUESTION)
    expect(page.locator("#conn")).to_have_attribute("data-state", "reconnecting")
    expect(page.locator("#conn-text")).to_contain_text("Reconnecting")
    candidate = page.locator("#chat .msg.candidate").last
    expect(candidate).to_have_attribute("data-status", "queued")
    expect(candidate.locator(".status")).to_contain_text("will send when reconnected")
    outbox = page.evaluate("id => window.__mockround.store.outbox(id)", session_id)
    assert [m["text"] for m in outbox] == [QUESTION]
    shot("reconnecting")
    mode["block"] = False  # the network is back
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=15_000)
    wait_reply(page, 2)
    expect(candidate).to_have_attribute("data-status", "delivered")
    answers = [f for f in sent if f.get("type") == "answer"]
    assert len(answers) == 2 and answers[0]["client_id"] == answers[1]["client_id"], answers

    # 2. the server gets the answer but its ack is lost: resent with the same client_id, deduped
    mode["lose"] = "the_ack"
    second = "And how late can events from the mobile apps arrive?"
    settle(page, server, session_id, token)
    seen = page.evaluate("id => window.__mockround.store.lastSeq(id)", session_id)
    before = len(connections)
    answer(page, second)
    wait_reply(page, 3)
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    assert len(connections) == before + 1 and f"last_seq={seen}" in connections[-1]  # resumed where it was
    expect(page.locator("#chat .msg.candidate")).to_have_count(2)
    expect(page.locator("#chat .msg.candidate").last).to_have_attribute("data-status", "delivered")
    client_id = next(f["client_id"] for f in sent if f.get("text") == second)
    assert [f["client_id"] for f in sent if f.get("type") == "answer"][2:] == [client_id, client_id]

    def acks() -> list[bool]:
        events = rest(server, token, f"/v1/sessions/{session_id}/events")["events"]
        return [e["duplicate"] for e in events if e["type"] == "ack" and e["client_id"] == client_id]

    deadline = time.monotonic() + 30  # the resend is read after the reply is relayed: poll for its ack
    while len(acks()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert acks() == [False, True]  # processed once; the resend was recognised as a duplicate
    assert page.evaluate("id => window.__mockround.store.outbox(id)", session_id) == []
    transcript = rest(server, token, f"/v1/sessions/{session_id}/transcript")
    assert [t["text"] for t in transcript["turns"] if t["role"] == "candidate"] == [QUESTION, second]

    # 3. the browser goes offline: the page says so, then recovers by itself
    page.context.set_offline(True)
    expect(page.locator("#conn")).to_have_attribute("data-state", "offline")
    expect(page.locator("#conn-text")).to_contain_text("Offline")
    page.context.set_offline(False)
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected", timeout=15_000)
    page.get_by_role("button", name="Hint").click()
    wait_reply(page, 4)
    events = rest(server, token, f"/v1/sessions/{session_id}/events")["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert sum(1 for e in events if e["type"] == "ack" and not e["duplicate"]) == 3
    settle(page, server, session_id, token)
    assert page.evaluate("id => window.__mockround.store.lastSeq(id)", session_id) == events[-1]["seq"]


def test_restarted_turns_and_replayed_events_render_once(page: Page, server: str) -> None:
    """The page against a scripted socket: a delta at offset 0 restarts a turn, old seqs are ignored."""
    created = httpx.post(f"{server}/v1/sessions", json={"case_id": CASE, "minutes": 20}).json()
    sid, token = created["session_id"], created["token"]
    stored = rest(server, token, f"/v1/sessions/{sid}/events")["events"]  # opening + phase: seq 1, 2
    sockets: list[WebSocketRoute] = []
    page.route_web_socket(re.compile(r"/v1/sessions/[^/]+/ws"), lambda ws: sockets.append(ws))  # no server
    page.goto(server + "/")
    remember(page, sid, token, "senior", 20)
    page.goto(f"{server}/#/interview/{sid}")
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    ws = sockets[0]
    assert "last_seq=0" in ws.url
    for event in stored:
        ws.send(json.dumps(event))
    wait_reply(page, 1)

    def delta(seq: int, offset: int, text: str) -> None:
        ws.send(json.dumps({"type": "interviewer_delta", "seq": seq, "turn": 2, "offset": offset, "text": text}))

    reply = interviewer(page).nth(1)
    delta(3, 0, "A partial reply that ")
    delta(4, 21, "was cut off by a crash")
    expect(reply.locator(".body")).to_have_text("A partial reply that was cut off by a crash")
    delta(5, 0, "Restarted ")  # the server restarted the turn: the partial text goes
    expect(reply.locator(".body")).to_have_text("Restarted ")
    delta(4, 21, "was cut off by a crash")  # replayed after a reconnect: already seen, ignored
    delta(6, 10, "and streamed")
    expect(reply.locator(".body")).to_have_text("Restarted and streamed")
    expect(reply).to_have_attribute("aria-busy", "true")
    ws.send(json.dumps({"type": "interviewer_done", "seq": 7, "turn": 2, "text": "Restarted and **final**.",
                        "move": "answer_clarification", "phase": "clarify", "fallback": None}))
    expect(reply.locator(".body")).to_have_text("Restarted and final.")
    expect(reply.locator(".body strong")).to_have_text("final")
    expect(reply).not_to_have_attribute("aria-busy", "true")
    delta(6, 10, "and streamed")  # stale again
    expect(interviewer(page)).to_have_count(2)
    expect(reply.locator(".body")).to_have_text("Restarted and final.")
    assert page.evaluate("id => window.__mockround.store.lastSeq(id)", sid) == 7


def finished_session(base: str) -> tuple[str, str]:
    """A short practice interview driven over REST, then ended."""
    created = httpx.post(f"{base}/v1/sessions", json={"case_id": CASE, "level": "staff", "minutes": 30,
                                                     "mode": "practice"}).json()
    sid, token = created["session_id"], created["token"]
    headers = {"Authorization": f"Bearer {token}"}
    steps = [("answer", QUESTION), ("move_on", ""), ("answer", DESIGN), ("move_on", ""), ("answer", DEEP),
             ("end", "")]
    for n, (kind, text) in enumerate(steps):
        res = httpx.post(f"{base}/v1/sessions/{sid}/messages", headers=headers, timeout=60,
                         json={"type": kind, "client_id": f"rest-{n}", "text": text})
        assert res.status_code == 200, res.text
    return sid, token


def step_to(pg: Page, turn: dict[str, Any], total: int) -> None:
    """Step the replay with the arrow keys to `turn` (a transcript turn)."""
    current = int(pg.locator("#rp-turn-title").inner_text().split()[1]) - 1
    for _ in range(abs(turn["index"] - current)):
        pg.keyboard.press("ArrowRight" if turn["index"] > current else "ArrowLeft")
    who = "Interviewer" if turn["role"] == "interviewer" else "Candidate"
    expect(pg.locator("#rp-turn-title")).to_have_text(f"Turn {turn['index'] + 1} of {total}: {who}")


def test_scorecard_and_replay_render_real_data(page: Page, server: str, shot: Shot) -> None:
    sid, token = finished_session(server)
    page.goto(server + "/")
    remember(page, sid, token, "staff", 30)

    page.get_by_role("link", name="History").click()
    row = page.locator(f"li[data-session={sid}]")
    expect(row).to_contain_text("Clickstream analytics")
    expect(row.locator(".badge")).to_have_text("finished")  # refreshed from the server
    shot("history")
    row.get_by_role("link", name="Scorecard").click()
    card = rest(server, token, f"/v1/sessions/{sid}/scorecard")
    expect(page.locator("#sc-overall")).to_have_text(shown(card["overall"]))
    expect(page.locator("#sc-hire")).to_have_text(card["hire_call"])
    expect(page.locator(".score-hero .hire")).to_contain_text("staff level")
    expect(page.locator("svg#dim-chart .bar-row")).to_have_count(len(card["dimensions"]))
    widths = page.locator("svg#dim-chart rect.bar-fill").evaluate_all("rs => rs.map(r => r.getAttribute('width'))")
    assert [float(w.rstrip("%")) for w in widths] == pytest.approx([0.84 * v for v in card["dimensions"].values()])
    expect(page.locator("section[aria-labelledby=sc-stress-title] h2")).to_have_text(
        f"Stress tests faced ({len(card['stress_tests'])})")

    page.get_by_role("link", name="Replay turn by turn").click()
    turns = rest(server, token, f"/v1/sessions/{sid}/transcript")["turns"]
    total = len(turns)
    expect(page.locator("#rp-turn-title")).to_have_text(f"Turn 1 of {total}: Interviewer")
    expect(page.locator("#rp-turn .replay-text")).to_have_text(rendered(page, turns[0]["text"]))
    expect(page.get_by_role("button", name="← Prev")).to_be_disabled()
    page.get_by_role("button", name="Next →").click()
    expect(page.locator("#rp-turn-title")).to_have_text(f"Turn 2 of {total}: Candidate")
    expect(page.locator("#rp-turn .replay-text")).to_have_text(QUESTION)
    page.get_by_role("button", name="← Prev").click()
    expect(page.locator("#rp-turn-title")).to_have_text(f"Turn 1 of {total}: Interviewer")

    # an answer with met items: verdict count and quoted evidence, as stored
    graded = [t for t in turns if t["role"] == "candidate" and any(v["met"] for v in t["verdicts"])]
    assert graded, "at least one scripted answer meets a rubric item"
    turn = graded[0]
    met = [v for v in turn["verdicts"] if v["met"]]
    step_to(page, turn, total)
    expect(page.locator("#rp-turn .verdicts h3")).to_have_text(
        f"Verdicts: {len(met)} met of {len(turn['verdicts'])} checked")
    expect(page.locator("#rp-turn .verdicts blockquote")).to_have_text([f"“{v['evidence']}”" for v in met])
    # an answer that retrieved reference chunks: their ids
    sourced = [t for t in turns if t["retrieved"]]
    assert sourced, "the design answers retrieve reference chunks"
    turn = sourced[-1]
    step_to(page, turn, total)
    expect(page.locator("#rp-turn .retrieved li")).to_have_text(turn["retrieved"])
    step_to(page, turns[-1], total)
    expect(page.get_by_role("button", name="Next →")).to_be_disabled()

    expect(page.locator("#gradings tbody tr")).to_have_count(1)
    with page.expect_response(lambda r: r.url.endswith(f"/v1/sessions/{sid}/regrade")) as response:
        page.get_by_role("button", name="Re-grade").click()
    result = response.value.json()
    diff = result["diff"]
    expect(page.locator("#gradings tbody tr")).to_have_count(2)
    versions = rest(server, token, f"/v1/sessions/{sid}/gradings")
    expect(page.locator("#gradings tbody tr td:nth-child(3)")).to_have_text([shown(v["overall"]) for v in versions])
    expect(page.locator("#regrade-diff h3")).to_have_text(f"Version {result['version']}")
    assert result["version"] == versions[-1]["version"] == 2
    expect(page.locator("#diff-overall")).to_have_text(
        f"Overall {shown(diff['overall']['before'])} → {shown(diff['overall']['after'])}")
    lists = page.locator("#regrade-diff h4 + *")
    for n, key in enumerate(["newly_met", "no_longer_met"]):
        if diff[key]:
            expect(lists.nth(n).locator(".item-id")).to_have_text(diff[key])
        else:
            expect(lists.nth(n)).to_have_text("None.")
    shot("replay")

    page.set_viewport_size({"width": 390, "height": 844})
    no_sideways_scroll(page)
    shot("phone-replay")
    page.goto(f"{server}/#/scorecard/{sid}")
    expect(page.locator("#sc-overall")).to_have_text(shown(result["scorecard"]["overall"]))
    no_sideways_scroll(page)
    shot("phone-scorecard")


def test_the_markdown_renderer_only_builds_whitelisted_elements(page: Page, server: str) -> None:
    page.goto(server + "/")
    render = """md => { const d = document.createElement('div'); d.append(window.__mockround.renderMarkdown(md));
        return {tags: Array.from(d.querySelectorAll('*'), e => e.tagName),
                attrs: Array.from(d.querySelectorAll('*')).flatMap(e => e.getAttributeNames()),
                text: d.textContent}; }"""
    out = page.evaluate(render, "**bold** *it* `x<b>` and_snake_case\n\n- one\n- two\n\n3. a\n4. b")
    assert out["tags"] == ["P", "STRONG", "EM", "CODE", "UL", "LI", "LI", "OL", "LI", "LI"]
    assert out["attrs"] == ["start"]
    assert "x<b>" in out["text"] and "and_snake_case" in out["text"]
    hostile = ('<b onclick="x()">hi</b> [link](javascript:alert(1)) ![i](x.png) <a href="//evil">a</a>\n'
               '# <svg onload=alert(1)>\n```\n<script>window.__xss=1</script>\n```\n&lt;entity&gt;')
    out = page.evaluate(render, hostile)
    assert set(out["tags"]) <= {"P", "STRONG", "EM", "CODE", "PRE", "BR", "UL", "OL", "LI"}, out["tags"]
    assert out["attrs"] == []
    for piece in ['<b onclick="x()">', "[link](javascript:alert(1))", "<svg onload=alert(1)>",
                  "<script>window.__xss=1</script>", "&lt;entity&gt;"]:
        assert piece in out["text"], piece
    assert_inert(page)


def test_markup_in_a_candidate_answer_stays_inert(page: Page, server: str) -> None:
    session_id = start_interview(page, server)
    answer(page, XSS)
    wait_reply(page, 2)
    bubble = page.locator("#chat .msg.candidate").last
    expect(bubble.locator(".body")).to_have_text(XSS)
    assert_inert(page)
    page.goto(f"{server}/#/replay/{session_id}")
    expect(page.locator("#rp-turn-title")).to_have_text(re.compile(r"^Turn 1 of \d+: Interviewer$"))
    page.get_by_role("button", name="Next →").click()
    expect(page.locator("#rp-turn .replay-text")).to_have_text(XSS)
    assert_inert(page)


@pytest.mark.allow_model_requests
def test_markup_in_a_model_reply_stays_inert(page: Page, full_settings: Settings,
                                             tmp_path: Path) -> None:
    from service.llm.fake_server import FakeOpenAI, default_responder

    reply = f"Thanks. {XSS} — so, **how** would you ingest the events?"

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        if body.get("response_format", {}).get("type") == "json_schema":
            return default_responder(body)  # the judge's verdicts
        return {"text": reply}  # the interviewer's phrasing

    with FakeOpenAI(chunk_chars=7) as fake:
        fake.responder = responder
        port = free_port()
        proc = start_app(full_settings, f"sqlite:///{tmp_path / 'llm.db'}", port, tmp_path / "server.log",
                         MOCKROUND_LLM="openai", OPENAI_BASE_URL=fake.base_url, OPENAI_API_KEY="test",
                         MOCKROUND_ALLOW_MODEL_REQUESTS="1", MOCKROUND_LLM_MAX_RETRIES="0",
                         MOCKROUND_LLM_TIMEOUT="10")
        try:
            base = f"http://127.0.0.1:{port}"
            sockets: list[Any] = []
            page.on("websocket", lambda ws: sockets.append(ws))
            session_id = start_interview(page, base)
            opening = interviewer(page).first
            expect(opening.locator(".body")).to_have_text(rendered(page, reply))
            expect(opening.locator(".body strong")).to_have_text("how")  # Markdown still renders
            frames: list[dict[str, Any]] = []
            sockets[-1].on("framereceived", lambda payload: frames.append(json.loads(payload)))
            answer(page, QUESTION)
            wait_reply(page, 2)
            deltas = [f for f in frames if f["type"] == "interviewer_delta"]
            assert len(deltas) > 1 and "".join(d["text"] for d in deltas) == reply  # it streamed
            expect(interviewer(page).nth(1).locator(".body")).to_have_text(rendered(page, reply))
            expect(interviewer(page).nth(1).locator(".note")).to_be_hidden()  # the model's text, not a fallback
            assert_inert(page)
            page.goto(f"{base}/#/replay/{session_id}")
            expect(page.locator("#rp-turn .replay-text")).to_have_text(rendered(page, reply))
            assert_inert(page)
        finally:
            stop_process(proc)
        assert any("response_format" not in r for r in fake.requests)
