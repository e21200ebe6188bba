"""``openai:`` models: one HTTP client for OpenAI-compatible servers (vLLM, Ollama, llama.cpp, hosted).

``openai:MODEL`` with options ``base_url`` (default ``$OPENAI_BASE_URL``, else
``https://api.openai.com/v1``) and ``api_key_env`` (the *name* of the environment variable holding
the key, default ``OPENAI_API_KEY``; no key, no ``Authorization`` header, as local servers want).
The endpoint follows the task type (``for_task`` returns a bound view; the adapter is never
changed):

* ``asr`` -> ``POST {base_url}/audio/transcriptions`` (multipart: ``file`` = the clip as 16-bit PCM
  WAV at its own sample rate, channels averaged; ``model``, ``temperature``, optional ``language``
  and ``prompt``); the response's ``text``.
* ``spectrogram-mcq`` (chat / VLM) -> ``POST {base_url}/chat/completions``: an optional system
  message, then one user message whose content is the text (``prompt_template``, default
  ``{text}``) followed by each image as a ``data:image/png;base64,...`` URL; returns
  ``choices[0].message.content`` for the task's answer extraction.

Requests of a batch run ``concurrency`` at a time (default 4). A 429 or 5xx answer, a refused
connection or a timeout (``timeout`` seconds, default 60) is retried up to ``retries`` times (default
4) after ``backoff * 2**attempt`` seconds (default 0.5; a numeric ``Retry-After`` header wins, capped
at 30 s). Any other failure, a malformed body, or the last retry's failure is one
:class:`~gapbench.errors.ModelError` line for *that sample* (raised from ``postprocess``), so one bad
answer never loses the batch.

Timing: ``take_transport_s()`` returns (and resets) the seconds the calling thread's last
``predict`` spent waiting on HTTP, as the wall time of the batch's request phase; when the server
reports its own compute in the ``openai-processing-ms`` header, that share is left to
``inference``. The pipeline subtracts it from the batch's ``inference`` and reports it as the
``transport`` stage.

``deterministic`` is ``temperature == 0`` (default 0). ``settings()`` = model name, endpoint, prompt
template, system prompt and generation parameters (``temperature``, ``max_tokens``, ``seed``,
``language``); ``fingerprint()`` = hash of base URL and model name (a server cannot prove its
weights: rename the model or clear the cache when they change).
"""
from __future__ import annotations

import base64
import http.client
import io
import json
import os
import struct
import threading
import time
import urllib.error
import urllib.request
import uuid
import wave
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from gapbench.core.media import ChatMessage
from gapbench.core.sample import content_hash
from gapbench.errors import InputError, ModelError
from gapbench.models._common import audio_mono, check_options, opt_float, opt_int, to_rgb_uint8
from gapbench.models.base import ModelAdapter

OPTIONS = ("base_url", "api_key_env", "timeout", "retries", "backoff", "concurrency", "temperature",
           "max_tokens", "seed", "prompt_template", "system", "language")
ENDPOINTS = {"asr": "/audio/transcriptions", "spectrogram-mcq": "/chat/completions"}
_RETRY_STATUS = {429, 500, 502, 503, 504}


def png_bytes(image: np.ndarray, level: int = 1) -> bytes:
    """An RGB PNG (8-bit, filter 0, zlib ``level``) of an image array, with nothing but the stdlib."""
    rgb = to_rgb_uint8(image, "image")
    h, w = rgb.shape[:2]
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rgb.reshape(h, w * 3)], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, level)) + chunk(b"IEND", b""))


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """Mono float samples in [-1, 1] as 16-bit PCM WAV."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def _multipart(fields: dict[str, str], file: bytes, filename: str) -> tuple[bytes, str]:
    boundary = "gapbench-" + uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 "Content-Type: audio/wav\r\n\r\n".encode() + file + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class OpenAIModel(ModelAdapter):
    """One model on an OpenAI-compatible server; ``for_task`` picks the endpoint."""

    task_types = tuple(ENDPOINTS)

    def __init__(self, model: str, **options: Any) -> None:
        check_options(options, OPTIONS, f"openai:{model}")
        self.model = model
        self.name = f"openai:{model}"
        self.options = dict(options)
        base = options.get("base_url") or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        if not str(base).startswith(("http://", "https://")):
            raise InputError(None, "option 'base_url'", "an http:// or https:// URL", base)
        self.base_url = str(base).rstrip("/")
        self.api_key_env = str(options.get("api_key_env", "OPENAI_API_KEY"))
        self.timeout = opt_float(options, "timeout", 60.0) or 60.0
        self.retries = opt_int(options, "retries", 4) or 0
        self.backoff = opt_float(options, "backoff", 0.5) or 0.0
        self.concurrency = max(1, opt_int(options, "concurrency", 4) or 1)
        self.temperature = opt_float(options, "temperature", 0.0) or 0.0
        self.max_tokens = opt_int(options, "max_tokens", None)
        self.seed = opt_int(options, "seed", None)
        self.prompt_template = str(options.get("prompt_template", "{text}"))
        self.system = options.get("system")
        self.language = options.get("language")
        self.deterministic = self.temperature == 0.0
        self._local = threading.local()

    def fingerprint(self) -> str:
        return content_hash(["openai", self.base_url, self.model])

    def settings(self) -> dict[str, Any]:
        return {"model": self.model, "prompt_template": self.prompt_template, "system": self.system,
                "temperature": self.temperature, "max_tokens": self.max_tokens, "seed": self.seed,
                "language": self.language}

    def for_task(self, task_type: str) -> ModelAdapter:
        super().for_task(task_type)
        return _Endpoint(self, task_type)

    def predict(self, batch: list[Any]) -> list[Any]:
        raise ModelError(f"{self.name}: call for_task(task_type) first (one of {', '.join(ENDPOINTS)})")

    # ---- HTTP ---------------------------------------------------------------------------------

    def request(self, path: str, body: bytes, content_type: str) -> tuple[dict[str, Any], float]:
        """POST with retries: (parsed JSON, seconds the server said it computed, else 0)."""
        url = self.base_url + path
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        attempt = 0
        while True:
            wait: float | None = None
            try:
                req = urllib.request.Request(url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - a user's URL
                    payload = resp.read()
                    server_ms = resp.headers.get("openai-processing-ms")
                break
            except urllib.error.HTTPError as exc:
                detail = _error_detail(exc.read())
                if exc.code not in _RETRY_STATUS or attempt >= self.retries:
                    raise ModelError(f"{self.name}: POST {url} -> HTTP {exc.code}: {detail}") from None
                ra = exc.headers.get("Retry-After") if exc.headers else None
                wait = min(float(ra), 30.0) if ra and ra.replace(".", "", 1).isdigit() else None
            except (urllib.error.URLError, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
                if attempt >= self.retries:
                    reason = getattr(exc, "reason", exc)
                    raise ModelError(f"{self.name}: POST {url} failed after {attempt + 1} tries: {reason}") from None
            time.sleep(wait if wait is not None else self.backoff * 2 ** attempt)
            attempt += 1
        try:
            data = json.loads(payload)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ModelError(f"{self.name}: POST {url} answered non-JSON: {payload[:80]!r}") from None
        if not isinstance(data, dict):
            raise ModelError(f"{self.name}: POST {url} answered {type(data).__name__}, expected a JSON object")
        try:
            server_s = float(server_ms) / 1000.0 if server_ms else 0.0
        except ValueError:
            server_s = 0.0
        return data, server_s


def _error_detail(body: bytes) -> str:
    try:
        err = json.loads(body).get("error")
        msg = err.get("message") if isinstance(err, dict) else err
        if msg:
            return str(msg).splitlines()[0][:200]
    except (ValueError, AttributeError):
        pass
    return body[:120].decode("utf-8", "replace").replace("\n", " ") or "(empty body)"


class _Endpoint(ModelAdapter):
    """``OpenAIModel`` bound to one task type (one endpoint)."""

    def __init__(self, parent: OpenAIModel, task_type: str) -> None:
        self.parent = parent
        self.name = parent.name
        self.task_type = task_type
        self.task_types = (task_type,)
        self.deterministic = parent.deterministic
        self.path = ENDPOINTS[task_type]

    def fingerprint(self) -> str:
        return self.parent.fingerprint()

    def settings(self) -> dict[str, Any]:
        return {"endpoint": self.path, **self.parent.settings()}

    def take_transport_s(self) -> float:
        """Seconds the calling thread's last ``predict`` waited on HTTP (then reset to 0)."""
        s = getattr(self.parent._local, "transport_s", 0.0)
        self.parent._local.transport_s = 0.0
        return float(s)

    def preprocess(self, input: Any) -> Any:  # noqa: A002 - the protocol's name
        """The request body, built per sample in the prefetch threads (PNG / WAV encoding)."""
        p = self.parent
        if self.task_type == "asr":
            x = audio_mono(input, int(getattr(input, "sample_rate", 0)), self.name)
            fields = {"model": p.model, "temperature": str(p.temperature), "response_format": "json"}
            if p.language:
                fields["language"] = str(p.language)
            if p.system:
                fields["prompt"] = str(p.system)
            return _multipart(fields, wav_bytes(x, input.sample_rate), "audio.wav")
        if not isinstance(input, ChatMessage):
            raise InputError(self.name, None, "a ChatMessage (text and images)", type(input).__name__)
        content: list[dict[str, Any]] = [{"type": "text", "text": p.prompt_template.format(text=input.text)}]
        for im in input.images:
            url = "data:image/png;base64," + base64.b64encode(png_bytes(im)).decode("ascii")
            content.append({"type": "image_url", "image_url": {"url": url}})
        messages: list[dict[str, Any]] = []
        system = input.system if input.system is not None else p.system
        if system:
            messages.append({"role": "system", "content": str(system)})
        messages.append({"role": "user", "content": content})
        body: dict[str, Any] = {"model": p.model, "messages": messages, "temperature": p.temperature}
        if p.max_tokens is not None:
            body["max_tokens"] = p.max_tokens
        if p.seed is not None:
            body["seed"] = p.seed
        return json.dumps(body).encode(), "application/json"

    def _one(self, req: tuple[bytes, str]) -> tuple[Any, float, float]:
        t0 = time.perf_counter()
        try:
            data, server_s = self.parent.request(self.path, *req)
            out: Any = self._answer(data)
        except ModelError as exc:
            out, server_s = exc, 0.0
        return out, time.perf_counter() - t0, server_s

    def _answer(self, data: dict[str, Any]) -> str:
        try:
            if self.task_type == "asr":
                text = data["text"]
            else:
                text = data["choices"][0]["message"]["content"]
                if isinstance(text, list):  # content parts
                    text = "".join(str(c.get("text", "")) for c in text if isinstance(c, dict))
        except (KeyError, IndexError, TypeError):
            raise ModelError(f"{self.name}: {self.path} answered without "
                             f"{'text' if self.task_type == 'asr' else 'choices[0].message.content'}: "
                             f"{json.dumps(data)[:80]}") from None
        if not isinstance(text, str):
            raise ModelError(f"{self.name}: {self.path} answered a non-string text: {text!r}")
        return text

    def predict(self, batch: list[Any]) -> list[Any]:
        """One request per sample, ``concurrency`` at a time; a failed sample's raw output is its error."""
        self.parent._local.transport_s = 0.0
        t0 = time.perf_counter()
        if len(batch) == 1 or self.parent.concurrency == 1:
            results = [self._one(r) for r in batch]
        else:
            with ThreadPoolExecutor(min(self.parent.concurrency, len(batch))) as pool:
                results = list(pool.map(self._one, batch))
        wall = time.perf_counter() - t0
        rtt = sum(r[1] for r in results)
        server = sum(min(r[2], r[1]) for r in results)
        # the request phase's wall time, less the share the server said it spent computing
        self.parent._local.transport_s = wall * ((rtt - server) / rtt) if rtt > 0 else 0.0
        return [r[0] for r in results]

    def postprocess(self, raw: Any) -> Any:
        if isinstance(raw, ModelError):
            raise raw
        return raw


def load_openai_model(rest: str, **options: Any) -> OpenAIModel:
    """The ``openai:`` scheme factory: ``rest`` is the server's model name."""
    if not rest:
        raise InputError(None, "model 'openai:'", "'openai:MODEL_NAME' (the name the server knows)")
    return OpenAIModel(rest, **options)
