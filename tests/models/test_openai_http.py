"""``openai:`` client against a real HTTP server the test starts on 127.0.0.1 (stdlib http.server):
the chat endpoint with images, the transcription endpoint (multipart), retries on 429/5xx,
malformed answers, per-sample errors, and the transport time the pipeline reads."""
from __future__ import annotations

import base64
import email
import io
import json
import threading
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from capture_task import Capture, memory_task

from gapbench.core.media import Audio, ChatMessage
from gapbench.core.sample import Sample
from gapbench.errors import InputError, ModelError
from gapbench.models.openai_http import png_bytes
from gapbench.models.registry import load_model
from gapbench.runner.local import run_task


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.calls: dict[str, int] = {}
        self.bodies: list[dict] = []
        self.auth: list[str | None] = []
        self.lock = threading.Lock()

    def handle_error(self, request, client_address):  # a client that timed out and left: not an error here
        pass


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        srv: Server = self.server  # type: ignore[assignment]
        srv.auth.append(self.headers.get("Authorization"))
        if self.path == "/v1/chat/completions":
            req = json.loads(body)
            model = req["model"]
        elif self.path == "/v1/audio/transcriptions":
            msg = email.message_from_bytes(b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body)
            fields = {p.get_param("name", header="content-disposition"): p.get_payload(decode=True)
                      for p in msg.get_payload()}
            req = {k: v if k == "file" else v.decode() for k, v in fields.items()}
            model = req["model"]
        else:
            return self._send(404, b'{"error": {"message": "no such route"}}')
        with srv.lock:
            srv.calls[model] = srv.calls.get(model, 0) + 1
            n = srv.calls[model]
            srv.bodies.append(req)
        if model == "flaky" and n == 1:
            return self._send(429, b'{"error": {"message": "slow down"}}', {"Retry-After": "0"})
        if model == "slow" and n == 1:
            import time
            time.sleep(0.6)  # past the client's timeout: the client retries
        if model == "broken":
            return self._send(503, b'{"error": {"message": "overloaded"}}')
        if model == "denied":
            return self._send(401, b'{"error": {"message": "bad key\\nsecond line"}}')
        if model == "junk":
            return self._send(200, b"<html>not json")
        if self.path == "/v1/audio/transcriptions":
            with wave.open(io.BytesIO(req["file"])) as w:
                text = f"frames {w.getnframes()} rate {w.getframerate()} lang {req.get('language', '-')}"
            return self._send(200, json.dumps({"text": text}).encode())
        user = req["messages"][-1]["content"]
        texts = [c["text"] for c in user if c["type"] == "text"]
        shapes = []
        for c in user:
            if c["type"] == "image_url":
                head, b64 = c["image_url"]["url"].split(",", 1)
                assert head == "data:image/png;base64"
                from PIL import Image
                shapes.append("x".join(map(str, np.asarray(Image.open(io.BytesIO(base64.b64decode(b64)))).shape)))
        if "poison" in texts[0]:
            return self._send(200, b'{"choices": []}')
        answer = f"{texts[0]} | {','.join(shapes)} | t={req['temperature']}"
        return self._send(200, json.dumps({"choices": [{"message": {"role": "assistant", "content": answer}}]}).encode(),
                          {"openai-processing-ms": "0"})


@pytest.fixture()
def server():
    srv = Server()
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    t.join(5)


def url(srv: Server) -> str:
    return f"http://127.0.0.1:{srv.server_address[1]}/v1"


def _run(task, model, **kw):
    cap = Capture()
    out = run_task(task, model, metric=cap, cache=False, show_progress=False, **kw)
    return cap.preds, out


def test_chat_sends_text_and_png_images_and_returns_the_text(server, monkeypatch):
    monkeypatch.setenv("GAPBENCH_TEST_KEY", "sk-test")
    rng = np.random.default_rng(0)
    imgs = [rng.integers(0, 256, (12 + i, 20, 3), dtype=np.uint8) for i in range(3)]
    items = [Sample(f"q{i}", ChatMessage(f"word{i}", (im, im[:, :7]), system="be brief"), "A")
             for i, im in enumerate(imgs)]
    model = load_model("openai:vlm", base_url=url(server), api_key_env="GAPBENCH_TEST_KEY",
                       prompt_template="Q: {text}", max_tokens=3)
    preds, _ = _run(memory_task('openai', "chat", "spectrogram-mcq", items), model, batch_size=2)
    for i, (p, im) in enumerate(zip(preds, imgs)):
        assert p.raw == f"Q: word{i} | {im.shape[0]}x20x3,{im.shape[0]}x7x3 | t=0.0"
    assert set(server.auth) == {"Bearer sk-test"}
    assert all(b["messages"][0] == {"role": "system", "content": "be brief"} and b["max_tokens"] == 3
               for b in server.bodies)
    assert model.deterministic and not load_model("openai:vlm", base_url=url(server), temperature="0.5").deterministic


def test_png_encoder_round_trips_through_pillow():
    from PIL import Image
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (9, 13, 3), dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(img)))), img)
    grey = rng.integers(0, 256, (5, 4), dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(grey))))[:, :, 0], grey)


def test_transcription_posts_multipart_wav_at_the_clip_rate(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    clips = [np.zeros(8000 + 100 * i, np.float32) for i in range(3)]
    items = [Sample(f"u{i}", Audio(c, 8000), "x") for i, c in enumerate(clips)]
    model = load_model("openai:whisper-1", base_url=url(server), language="en")
    preds, _ = _run(memory_task('openai', "asr", "asr", items), model, batch_size=3)
    assert [p.text for p in preds] == [f"frames {c.size} rate 8000 lang en" for c in clips]
    assert set(server.auth) == {None}  # no key in the environment, no header


def test_429_is_retried_after_backoff(server):
    model = load_model("openai:flaky", base_url=url(server), backoff=0.01)
    preds, _ = _run(memory_task('openai', "flaky", "spectrogram-mcq", [Sample("a", ChatMessage("hi"), "A")]), model)
    assert preds[0].raw.startswith("hi |") and server.calls["flaky"] == 2


def test_timeout_is_retried(server):
    view = load_model("openai:slow", base_url=url(server), timeout=0.2, backoff=0.01).for_task("spectrogram-mcq")
    out = view.predict([view.preprocess(ChatMessage("late"))])[0]
    assert view.postprocess(out).startswith("late |") and server.calls["slow"] == 2


def test_persistent_5xx_gives_up_with_one_line(server):
    model = load_model("openai:broken", base_url=url(server), retries=2, backoff=0.001)
    view = model.for_task("spectrogram-mcq")
    raw = view.predict([view.preprocess(ChatMessage("hi"))])
    with pytest.raises(ModelError) as err:
        view.postprocess(raw[0])
    assert server.calls["broken"] == 3
    assert "HTTP 503: overloaded" in str(err.value) and "\n" not in str(err.value)


def test_malformed_json_and_4xx_are_one_line_without_retry(server):
    for name, text in (("junk", "non-JSON"), ("denied", "HTTP 401: bad key")):
        view = load_model(f"openai:{name}", base_url=url(server), backoff=0.001).for_task("asr")
        raw = view.predict([view.preprocess(Audio(np.zeros(100, np.float32), 16000))])
        with pytest.raises(ModelError, match=text) as err:
            view.postprocess(raw[0])
        assert "\n" not in str(err.value) and server.calls[name] == 1


def test_one_bad_answer_is_skipped_not_the_batch(server):
    items = [Sample("good", ChatMessage("ok"), "A"), Sample("bad", ChatMessage("poison"), "A")]
    model = load_model("openai:vlm", base_url=url(server))
    preds, out = _run(memory_task('openai', "mixed", "spectrogram-mcq", items), model, batch_size=2, on_error="skip")
    assert [p.raw.split(" |")[0] for p in preds] == ["ok"]
    assert [s.sample_id for s in out.clean.skipped] == ["bad"]
    assert "choices[0].message.content" in out.clean.skipped[0].reason


def test_transport_time_is_reported_and_reset(server):
    view = load_model("openai:whisper-1", base_url=url(server)).for_task("asr")
    batch = [view.preprocess(Audio(np.zeros(1600, np.float32), 16000)) for _ in range(3)]
    view.predict(batch)
    first = view.take_transport_s()
    assert first > 0 and view.take_transport_s() == 0.0


def test_connection_refused_and_bad_options_are_one_line():
    view = load_model("openai:m", base_url="http://127.0.0.1:9/v1", retries=1, backoff=0.001).for_task("asr")
    raw = view.predict([view.preprocess(Audio(np.zeros(10, np.float32), 16000))])
    with pytest.raises(ModelError, match="failed after 2 tries"):
        view.postprocess(raw[0])
    with pytest.raises(InputError, match="base_url"):
        load_model("openai:m", base_url="127.0.0.1:8000")
    with pytest.raises(InputError, match="temprature"):
        load_model("openai:m", temprature=0)
    with pytest.raises(InputError, match="object-detection"):
        load_model("openai:m", base_url="http://127.0.0.1:9").for_task("object-detection")
    with pytest.raises(InputError, match="Audio"):
        view.preprocess("not audio")


def test_settings_and_fingerprint_follow_what_changes_answers(server):
    a = load_model("openai:m", base_url=url(server))
    b = load_model("openai:m", base_url=url(server), prompt_template="Answer: {text}")
    c = load_model("openai:other", base_url=url(server))
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    assert a.settings() != b.settings()
    assert a.for_task("asr").settings() != a.for_task("spectrogram-mcq").settings()
