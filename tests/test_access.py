"""Who may use the page (nn/web/access.py): tokens on every route, the teacher and the class, the
cookie, wrong tokens slowed down, a device's saves limited. Through Flask's test client; the same
over real HTTP and in a browser is in tests/test_web.py and tests/test_page.py."""

from __future__ import annotations

import base64
import itertools

import pytest

from conftest import session_for
from nn.files.digits_csv import load_csv
from nn.session.canvas import Canvas, draw_demo
from nn.web import access as access_module
from nn.web.access import CLASS, TEACHER, Access, Refused
from nn.web.app import create_app

_addresses = itertools.count(1)


def demo_grid(digit: int) -> list[float]:
    canvas = Canvas()
    draw_demo(canvas, digit)
    return [round(float(v), 4) for v in canvas.ink.reshape(-1)]


GRID = demo_grid(4)


def photo_of(digit: int | None) -> bytes:
    """A picture file of a drawn digit (None: of nothing), dark on white, as a photo's bytes."""
    import io

    import numpy as np
    from PIL import Image

    canvas = Canvas()
    if digit is not None:
        draw_demo(canvas, digit)
    out = io.BytesIO()
    Image.fromarray(np.uint8(255 - 255 * canvas.ink)).resize((112, 112)).save(out, "PNG")
    return out.getvalue()


PHOTO = photo_of(4)
# Every route, with a body it accepts, and whether it is the teacher's alone.
ROUTES = [
    ("GET", "/", None, False),
    ("GET", "/app.js", None, False),
    ("GET", "/learn.js", None, False),
    ("GET", "/api/model", None, False),
    ("GET", "/api/model/reader", None, False),
    ("GET", "/api/model/in-use", None, False),
    ("GET", "/api/page", None, False),
    ("GET", "/reading.js", None, False),
    ("POST", "/api/predict", {"grid": GRID}, False),
    ("POST", "/api/save", {"grid": GRID, "label": 4}, False),
    ("POST", "/api/photo", PHOTO, False),
    ("POST", "/api/step", {"grid": GRID, "label": 9}, False),
    ("GET", "/api/dream?digit=3", None, False),
    ("GET", "/api/teach", None, False),
    ("GET", "/api/train", None, False),
    ("POST", "/api/step/keep", {"grid": GRID, "label": 9}, True),
    ("POST", "/api/teach", {}, True),
    ("DELETE", "/api/teach", None, True),
    ("POST", "/api/teach/undo", {}, True),
    ("POST", "/api/train", {"hidden": [8], "epochs": 1}, True),
    ("DELETE", "/api/train", None, True),
    ("POST", "/api/train/use", {"use": "trained"}, True),
    ("POST", "/api/train/save", {}, True),
    ("GET", "/api/qr", None, True),
]


@pytest.fixture
def classroom(pretrained, tmp_path):
    """A classroom's routes (no server: Flask's test client), with the session that answers them."""
    session = session_for(pretrained, "data/pretrained.npz", tmp_path / "custom_digits.csv",
                          data=[tmp_path / "none.csv"], test=tmp_path / "none.csv")
    access = Access((TEACHER, CLASS))
    access.class_link = "http://192.168.1.20:8028/?token=" + access.tokens[CLASS]
    app = create_app(session, loopback_only=False, access=access)
    yield app.test_client(), access, session
    session.close(10)


def call(client, method, path, body=None, token=None, how="bearer", address=None):
    """One request from its own address (so that wrong tokens of one test do not slow another)."""
    headers, query = {}, ""
    if token is not None and how == "bearer":
        headers["Authorization"] = f"Bearer {token}"
    elif token is not None:
        query = ("&" if "?" in path else "?") + f"token={token}"
    if isinstance(body, bytes):  # a photo: the body itself
        headers["Content-Type"] = "image/png"
        return client.open(path + query, method=method, data=body, headers=headers,
                           environ_base={"REMOTE_ADDR": address or f"10.0.{next(_addresses) % 250}.{next(_addresses) % 250}"})
    return client.open(path + query, method=method, json=body, headers=headers,
                       environ_base={"REMOTE_ADDR": address or f"10.0.{next(_addresses) % 250}.{next(_addresses) % 250}"})


@pytest.mark.parametrize("method, path, body, teachers", ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_every_route_needs_a_token_and_the_teacher_s_routes_the_teacher_s(classroom, method, path, body, teachers):
    client, access, session = classroom
    for token in (None, "not-a-token", access.tokens[CLASS][:-1], access.tokens[CLASS] + "x"):
        response = call(client, method, path, body, token)
        assert response.status_code == 401, (token, response.status_code)
    response = call(client, method, path, body, access.tokens[CLASS])
    if teachers:
        assert response.status_code == 403 and "is the teacher's" in response.get_json()["error"]
    else:
        assert response.status_code not in (401, 403), response.get_data()[:200]
    response = call(client, method, path, body, access.tokens[TEACHER])
    assert response.status_code not in (401, 403), response.get_data()[:200]


def test_a_refused_class_changes_nothing(classroom, tmp_path):
    client, access, session = classroom
    model = session.model
    for method, path, body, teachers in ROUTES:
        if teachers:
            call(client, method, path, body, access.tokens[CLASS])
    assert session.model is model and not session.out.exists() and not session.busy


def test_the_link_sets_a_cookie_and_leaves_the_address_bar(classroom):
    client, access, _ = classroom
    response = call(client, "GET", "/", token=access.tokens[CLASS], how="query", address="10.1.1.1")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"nn_token={access.tokens[CLASS]};") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # the browser follows with its cookie: the page, and the API, answer
    client.set_cookie("nn_token", access.tokens[CLASS])
    assert call(client, "GET", "/", address="10.1.1.1").status_code == 200
    model = call(client, "GET", "/api/model", address="10.1.1.1").get_json()
    assert model["role"] == "class" and "class_link" not in model
    # scripts: ?token= on the API answers without a detour
    response = call(client, "POST", "/api/predict", {"grid": GRID}, access.tokens[TEACHER], how="query")
    assert response.status_code == 200 and response.get_json()["digit"] == 4


def test_the_teacher_s_page_gets_the_class_s_link_and_its_qr_code(classroom):
    client, access, _ = classroom
    model = call(client, "GET", "/api/model", token=access.tokens[TEACHER]).get_json()
    assert model["role"] == "teacher" and model["class_link"] == access.class_link
    response = call(client, "GET", "/api/qr", token=access.tokens[TEACHER])
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.get_data().startswith(b"<svg") and b"<path" in response.get_data()


def test_without_a_link_a_browser_gets_a_page_saying_so_and_a_script_json(classroom):
    client, _, _ = classroom
    page = call(client, "GET", "/")
    assert page.status_code == 401 and page.mimetype == "text/html" and b"This page needs its link" in page.get_data()
    api = call(client, "GET", "/api/model")
    assert api.status_code == 401 and "needs its link" in api.get_json()["error"]


def test_wrong_tokens_from_one_device_are_slowed_down_and_others_are_not(classroom):
    client, access, _ = classroom
    for _ in range(access_module.WRONG_TRIES):
        assert call(client, "GET", "/api/model", token="guess", address="10.9.9.9").status_code == 401
    slowed = call(client, "GET", "/api/model", token=access.tokens[CLASS], address="10.9.9.9")
    assert slowed.status_code == 429 and "too many wrong tokens" in slowed.get_json()["error"]
    assert int(slowed.headers["Retry-After"]) >= 1
    assert call(client, "GET", "/api/model", token=access.tokens[CLASS], address="10.9.9.8").status_code == 200


def test_a_device_that_keeps_guessing_waits_longer_each_time(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(access_module.time, "monotonic", lambda: now[0])
    access = Access((TEACHER,))
    waits = []
    for _ in range(access_module.WRONG_TRIES + 6):
        try:
            access.role("guess", "10.0.0.1")
        except Refused as e:
            if e.status == 429:
                waits.append(e.retry_after)
                now[0] += e.retry_after  # it waits as told, then guesses again
    assert waits == sorted(waits) and waits[-1] > waits[0] and max(waits) <= access_module.LONGEST_WAIT
    now[0] += access_module.LONGEST_WAIT
    assert access.role(access.tokens[TEACHER], "10.0.0.1") == TEACHER  # the right token works once it waited


def test_a_flood_of_saves_from_one_device_is_refused_and_nothing_is_lost(classroom):
    client, access, session = classroom
    statuses = [call(client, "POST", "/api/save", {"grid": GRID, "label": 4}, access.tokens[CLASS],
                     address="10.5.5.5").status_code for _ in range(access_module.SAVES_IN_A_ROW + 5)]
    assert statuses == [200] * access_module.SAVES_IN_A_ROW + [429] * 5
    refused = call(client, "POST", "/api/save", {"grid": GRID, "label": 4}, access.tokens[CLASS], address="10.5.5.5")
    assert "too many saves from this device" in refused.get_json()["error"] and "Retry-After" in refused.headers
    # another device saves on; the limit is the device's, whichever link it holds
    assert call(client, "POST", "/api/save", {"grid": GRID, "label": 4}, access.tokens[CLASS],
                address="10.5.5.6").status_code == 200
    assert call(client, "POST", "/api/save", {"grid": GRID, "label": 4}, access.tokens[TEACHER],
                address="10.5.5.5").status_code == 429
    assert call(client, "POST", "/api/save", {"grid": GRID, "label": 4}, access.tokens[TEACHER],
                address="10.5.5.7").status_code == 200
    data = load_csv(session.custom, use_cache=False)
    assert len(data.labels) == access_module.SAVES_IN_A_ROW + 2 and (data.labels == 4).all()


def test_the_class_reads_photos_a_few_at_a_time_and_a_photo_with_no_number_costs_nothing(classroom):
    client, access, _ = classroom
    answer = call(client, "POST", "/api/photo", PHOTO, access.tokens[CLASS], address="10.6.6.6")
    assert answer.status_code == 200, answer.get_data()[:300]
    reply = answer.get_json()
    assert reply["number"] == "4" and (reply["width"], reply["height"]) == (112, 112)
    digit = reply["digits"][0]
    assert digit["digit"] == 4 and len(digit["probabilities"]) == 10 and len(digit["seen"]) == 784
    x, y, w, h = digit["box"]
    assert 0 <= x and 0 <= y and x + w <= 112 and y + h <= 112 and w > 20 and h > 40
    assert [step["name"] for step in reply["steps"]][-2:] == ["number", "digit 1"]
    assert all(base64.b64decode(step["picture"]["png"]).startswith(b"\x89PNG") for step in reply["steps"])
    blank = photo_of(None)
    for _ in range(3):  # refused photos give their turn back
        refused = call(client, "POST", "/api/photo", blank, access.tokens[CLASS], address="10.6.6.6")
        assert refused.status_code == 400 and refused.get_json()["error"].startswith("the photo: no digit found")
    statuses = [call(client, "POST", "/api/photo", PHOTO, access.tokens[CLASS], address="10.6.6.6").status_code
                for _ in range(access_module.PHOTOS_IN_A_ROW)]
    assert statuses == [200] * (access_module.PHOTOS_IN_A_ROW - 1) + [429]
    assert call(client, "POST", "/api/photo", PHOTO, access.tokens[CLASS], address="10.6.6.7").status_code == 200


@pytest.mark.parametrize("body, content_type, status, fragment", [
    (b"", "image/jpeg", 400, "the body is empty"),
    (b"GIF89a not really", "image/gif", 400, "the photo: not an image Pillow can read"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "image/jpeg", 400, "the photo: "),
    (b'{"grid": []}', "application/json", 415, "Content-Type: image/jpeg"),
    (PHOTO, "text/plain", 415, "send the picture itself"),
])
def test_a_body_that_is_no_photo_gets_a_reason(classroom, body, content_type, status, fragment):
    client, access, _ = classroom
    answer = client.open("/api/photo", method="POST", data=body, headers={
        "Content-Type": content_type, "Content-Length": str(len(body)), "Authorization": f"Bearer {access.tokens[CLASS]}"},
        environ_base={"REMOTE_ADDR": f"10.8.{next(_addresses) % 250}.1"})
    assert answer.status_code == status and fragment in answer.get_json()["error"], answer.get_json()


def test_a_photo_waiting_too_long_for_its_turn_gets_503(classroom, monkeypatch):
    from nn.session import session as session_module

    client, access, session = classroom
    monkeypatch.setattr(session_module, "PHOTO_WAIT", 0.01)
    for _ in range(session_module.PHOTOS_AT_ONCE):
        session._photos.acquire()
    try:
        answer = call(client, "POST", "/api/photo", PHOTO, access.tokens[CLASS])
    finally:
        for _ in range(session_module.PHOTOS_AT_ONCE):
            session._photos.release()
    assert answer.status_code == 503 and "other photos are being read" in answer.get_json()["error"]


def test_a_device_may_save_again_after_a_while(monkeypatch):
    now = [50.0]
    monkeypatch.setattr(access_module.time, "monotonic", lambda: now[0])
    access = Access((TEACHER, CLASS))
    for _ in range(access_module.SAVES_IN_A_ROW):
        with access.turn("d", "save"):
            pass
    with pytest.raises(Refused) as refused, access.turn("d", "save"):
        pass
    assert refused.value.status == 429
    now[0] += access_module.SAVE_EVERY
    with access.turn("d", "save"):  # one more, a few seconds later
        pass


def test_a_save_that_fails_gives_its_turn_back():
    access = Access((TEACHER,))
    for _ in range(3 * access_module.SAVES_IN_A_ROW):  # refused after the turn was taken: not counted
        with pytest.raises(ValueError), access.turn("d", "save"):
            raise ValueError("the drawing is blank")
    for _ in range(access_module.SAVES_IN_A_ROW):
        with access.turn("d", "save"):
            pass
    with pytest.raises(Refused), access.turn("d", "save"):
        pass


def test_tokens_are_random_long_and_different():
    a, b = Access((TEACHER, CLASS)), Access((TEACHER, CLASS))
    tokens = [*a.tokens.values(), *b.tokens.values()]
    assert len(set(tokens)) == 4 and all(len(t) >= 22 for t in tokens)


def test_on_this_computer_alone_the_page_stays_open(pretrained, tmp_path):
    session = session_for(pretrained, "data/pretrained.npz", tmp_path / "custom_digits.csv")
    client = create_app(session).test_client()
    assert client.get("/").status_code == 200
    assert client.get("/api/model").get_json()["role"] == "open"
    assert client.post("/api/predict", json={"grid": GRID}).status_code == 200


def test_listening_beyond_this_computer_needs_the_one_token(pretrained, tmp_path):
    session = session_for(pretrained, "data/pretrained.npz", tmp_path / "custom_digits.csv")
    access = Access.for_page(loopback_only=False, classroom=False)
    assert set(access.tokens) == {TEACHER}
    client = create_app(session, loopback_only=False, access=access).test_client()
    assert client.get("/api/model").status_code == 401
    model = client.get("/api/model", headers={"Authorization": f"Bearer {access.tokens[TEACHER]}"})
    assert model.status_code == 200 and model.get_json()["role"] == "teacher"


def test_the_guess_says_which_model_answers(classroom):
    client, access, session = classroom
    reply = call(client, "POST", "/api/predict", {"grid": GRID}, access.tokens[CLASS]).get_json()
    assert reply["model"] == "data/pretrained.npz" == session.model.name


def test_a_token_is_compared_in_constant_time_with_every_token(monkeypatch):
    """A guess that shares a long prefix with a token must not be answered sooner or later than
    one that shares none: every guess is compared with every token, each by hmac.compare_digest
    (whose time does not depend on where the first difference lies), and by nothing else."""
    import hmac

    from nn.web import access as access_module

    access = Access((TEACHER, CLASS))
    compared, constant_time = [], hmac.compare_digest

    def compare(a, b):
        compared.append((a, b))
        return constant_time(a, b)

    monkeypatch.setattr(access_module.hmac, "compare_digest", compare)
    token = access.tokens[TEACHER]
    for k, guess in enumerate([token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * len(token), "", "y", token]):
        compared.clear()
        try:
            role = access.role(guess, f"t{k}")
        except Refused:
            role = None
        if guess:
            assert sorted(b for _, b in compared) == sorted(t.encode() for t in access.tokens.values())
            assert all(a == guess.encode() for a, _ in compared)
        assert role == (TEACHER if guess == token else None)



def test_every_route_of_the_app_is_in_the_list_above(classroom):
    """A new route is tried by the tests above only if it is in ROUTES: every route the app has
    (each method of each rule) must be."""
    client, _, _ = classroom
    app = client.application
    adapter = app.url_map.bind("localhost")
    listed = {(method, adapter.match(path.split("?")[0], method=method)[0]) for method, path, _, _ in ROUTES}
    every = {(method, rule.endpoint) for rule in app.url_map.iter_rules()
             for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert every <= listed, sorted(every - listed)


def test_every_api_route_is_in_the_docs(classroom):
    """docs/web.md's table of the API names every route the app has."""
    from conftest import REPO

    client, _, _ = classroom
    docs = (REPO / "docs" / "web.md").read_text()
    missing = [rule.rule for rule in client.application.url_map.iter_rules()
               if rule.rule.startswith("/api/") and f"{rule.rule}`" not in docs and f"{rule.rule} " not in docs
               and f"{rule.rule}?" not in docs]
    assert not missing, missing


def test_the_class_reads_on_its_phones_unless_the_server_reads(classroom):
    client, access, session = classroom
    reply = call(client, "GET", "/api/model", token=access.tokens[CLASS]).get_json()
    assert reply["reads_on_phone"] is True and reply["serial"] == session.model.serial
    assert call(client, "GET", "/api/model", token=access.tokens[TEACHER]).get_json()["reads_on_phone"] is False
    access.phones_read = False  # draw.py --web --classroom --server-reads
    assert call(client, "GET", "/api/model", token=access.tokens[CLASS]).get_json()["reads_on_phone"] is False
    spec = call(client, "GET", "/api/model/reader", token=access.tokens[CLASS]).get_json()
    assert spec["serial"] == session.model.serial and [l["type"] for l in spec["layers"]][-1] == "dense"
    assert call(client, "GET", "/api/model/in-use", token=access.tokens[CLASS]).get_json() == {
        "name": session.model.name, "serial": session.model.serial}
    page = call(client, "GET", "/api/page", token=access.tokens[CLASS])
    assert page.headers["Content-Disposition"] == 'attachment; filename="pretrained.html"'
    assert b'id="guess"' in page.data

