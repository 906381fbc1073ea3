"""A stand-in Hugging Face Hub on 127.0.0.1, for tests (no network, no real Hub).

It implements just what ``huggingface_hub`` uses to download and upload one file:

* ``HEAD``/``GET /{repo_id}/resolve/{revision}/{filename}`` with ``X-Repo-Commit``, ``ETag`` (the
  sha256, as the Hub does for LFS files), ``Content-Length`` and ``Range`` support; 404s carry the
  Hub's ``X-Error-Code`` (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``);
* ``POST /api/repos/create``, ``POST /api/validate-yaml``,
  ``POST /api/models/{repo_id}/preupload/{revision}`` (always "regular" upload mode) and
  ``POST /api/models/{repo_id}/commit/{revision}`` (ndjson with base64 file content).

Faults can be injected per file to test failure handling (see :meth:`StandInHub.set_fault`)::

    with StandInHub() as hub:
        rev = hub.add_file("org/model", "model.safetensors", data)
        os.environ["HF_ENDPOINT"] = hub.url
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

__all__ = ["Fault", "StandInHub", "free_port_url"]

Fault = Literal["truncate", "corrupt", "interrupt", "hang", "stall", "error500"]


@dataclass
class _Repo:
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)


class StandInHub:
    """A threaded HTTP server that behaves like the Hub for one-file downloads and uploads.

    Attributes:
        url: base URL (``http://127.0.0.1:<port>``), to put in ``HF_ENDPOINT``.
        requests: ``(method, path)`` of every request received, in order.
    """

    def __init__(self) -> None:
        self._repos: dict[str, _Repo] = {}
        self._faults: dict[tuple[str, str], Fault] = {}
        self._fault_hits: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[tuple[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="stand-in-hub", daemon=True
        )

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> StandInHub:
        """Start serving in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the server and close its socket."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> StandInHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- content -------------------------------------------------------------------------------

    def commit(self, repo_id: str, files: dict[str, bytes], branch: str = "main") -> str:
        """Add a commit with these files (on top of the branch's files); returns its 40-hex id."""
        with self._lock:
            repo = self._repos.setdefault(repo_id, _Repo())
            parent = repo.branches.get(branch)
            tree = dict(repo.commits.get(parent, {})) if parent else {}
            tree.update(files)
            h = hashlib.sha1(f"{repo_id}\0{parent}\0{len(repo.commits)}".encode())
            for name in sorted(files):
                h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
            oid = h.hexdigest()
            repo.commits[oid] = tree
            repo.branches[branch] = oid
            return oid

    def add_file(self, repo_id: str, filename: str, data: bytes, branch: str = "main") -> str:
        """Commit one file; returns the commit id (the revision to pin)."""
        return self.commit(repo_id, {filename: data}, branch)

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """The files of a repository at a revision (branch or commit)."""
        repo = self._repos[repo_id]
        return dict(repo.commits[repo.branches.get(revision, revision)])

    def set_fault(self, repo_id: str, filename: str, fault: Fault | None) -> None:
        """Make downloads of a file misbehave.

        ``truncate``: GET sends only half the bytes, with a matching shorter Content-Length.
        ``corrupt``: GET sends the right number of bytes, some flipped.
        ``interrupt``: the first GET sends half the bytes of the announced length and drops the
        connection; later GETs answer 503.
        ``hang``: every request waits 30 s before answering.
        ``stall``: GET sends the headers and half the bytes, then sends nothing more for 30 s
        (or until the server stops) before closing: a stalled response body.
        ``error500``: every request answers HTTP 500.
        """
        with self._lock:
            key = (repo_id, filename)
            if fault is None:
                self._faults.pop(key, None)
            else:
                self._faults[key] = fault
            self._fault_hits[key] = 0

    def count(self, method: str | None = None, contains: str = "") -> int:
        """How many requests were received (optionally of one method, with a path substring)."""
        return sum(1 for m, p in self.requests if (method is None or m == method) and contains in p)

    # -- request handling (called from the handler) ------------------------------------------

    def _resolve(self, path: str) -> tuple[int, dict[str, str], bytes | None, str | None, tuple[str, str]]:
        head, sep, tail = path.partition("/resolve/")
        repo_id = unquote(head.lstrip("/"))
        revision, _, filename = tail.partition("/")
        revision, filename = unquote(revision), unquote(filename)
        key = (repo_id, filename)
        if not sep or repo_id not in self._repos:
            return 404, {"X-Error-Code": "RepoNotFound"}, None, None, key
        repo = self._repos[repo_id]
        commit = repo.branches.get(revision, revision if revision in repo.commits else None)
        if commit is None:
            return 404, {"X-Error-Code": "RevisionNotFound"}, None, None, key
        data = repo.commits[commit].get(filename)
        headers = {"X-Repo-Commit": commit}
        if data is None:
            return 404, {**headers, "X-Error-Code": "EntryNotFound"}, None, commit, key
        return 200, headers, data, commit, key

    def _fault(self, key: tuple[str, str], is_get: bool) -> tuple[Fault | None, int]:
        """The file's fault and how many GETs of it came before this request."""
        with self._lock:
            fault = self._faults.get(key)
            gets = self._fault_hits.get(key, 0)
            if is_get:
                self._fault_hits[key] = gets + 1
            return fault, gets


def _handler_for(hub: StandInHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _send(self, code: int, headers: dict[str, str], body: bytes = b"", length: int | None = None) -> None:
            self.send_response(code)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            if self.command != "HEAD" and body:
                self.wfile.write(body)

        def _json(self, code: int, obj: Any) -> None:
            self._send(code, {"Content-Type": "application/json"}, json.dumps(obj).encode())

        def _file(self) -> None:
            path = urlsplit(self.path).path
            hub.requests.append((self.command, path))
            code, headers, data, _commit, key = hub._resolve(path)
            if data is None:
                self._json(code, {"error": headers.get("X-Error-Code", "not found")})
                return
            fault, gets = hub._fault(key, self.command == "GET")
            if fault == "hang":
                time.sleep(30)
            if fault == "error500":
                self._json(500, {"error": "internal error"})
                return
            headers = {**headers, "ETag": f'"{hashlib.sha256(data).hexdigest()}"', "Accept-Ranges": "bytes"}
            headers["Content-Type"] = "application/octet-stream"
            if self.command == "HEAD":
                self._send(200, headers, data)
                return
            if fault == "stall":
                self._send(200, headers, data[: len(data) // 2], length=len(data))
                self.wfile.flush()
                hub._stopping.wait(30)
                self.close_connection = True
                return
            if fault == "interrupt":
                if gets > 0:
                    self._json(503, {"error": "unavailable"})
                    return
                self._send(200, headers, data[: len(data) // 2], length=len(data))
                self.wfile.flush()
                self.close_connection = True
                return
            if fault == "truncate":
                data = data[: len(data) // 2]
            elif fault == "corrupt":
                data = bytes(b ^ 0xFF if i % 97 == 0 else b for i, b in enumerate(data))
            start = 0
            rng = self.headers.get("Range", "")
            if rng.startswith("bytes=") and rng[6:].split("-")[0].isdigit():
                start = int(rng[6:].split("-")[0])
                headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                self._send(206, headers, data[start:])
                return
            self._send(200, headers, data)

        def do_HEAD(self) -> None:  # noqa: N802 - http.server API
            self._file()

        def do_GET(self) -> None:  # noqa: N802
            self._file()

        def do_POST(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path
            hub.requests.append(("POST", path))
            body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
            if path == "/api/repos/create":
                payload = json.loads(body or b"{}")
                repo_id = (
                    f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
                )
                if repo_id in hub._repos:
                    self._json(409, {"error": "You already created this model repo", "url": f"{hub.url}/{repo_id}"})
                    return
                with hub._lock:
                    hub._repos[repo_id] = _Repo()
                self._json(200, {"url": f"{hub.url}/{repo_id}", "name": repo_id})
                return
            if path == "/api/validate-yaml":
                self._json(200, {"errors": [], "warnings": []})
                return
            if path.startswith("/api/models/") and "/preupload/" in path:
                payload = json.loads(body or b"{}")
                files = [
                    {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None}
                    for f in payload.get("files", [])
                ]
                self._json(200, {"files": files})
                return
            if path.startswith("/api/models/") and "/commit/" in path:
                head, _, revision = path[len("/api/models/") :].partition("/commit/")
                repo_id, revision = unquote(head), unquote(revision)
                if repo_id not in hub._repos:
                    self._json(404, {"error": "Repository not found"})
                    return
                files = {}
                for line in body.splitlines():
                    item = json.loads(line)
                    if item.get("key") == "file":
                        files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                    elif item.get("key") != "header":
                        self._json(400, {"error": f"unsupported commit operation {item.get('key')}"})
                        return
                oid = hub.commit(repo_id, files, branch=revision)
                self._json(
                    200, {"commitUrl": f"{hub.url}/{repo_id}/commit/{oid}", "commitOid": oid, "pullRequestUrl": None}
                )
                return
            self._json(404, {"error": f"unknown endpoint {path}"})

    return Handler


@contextmanager
def _closed_port() -> Iterator[int]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def free_port_url() -> str:
    """URL of a 127.0.0.1 port with nothing listening (connections are refused at once)."""
    with _closed_port() as port:
        return f"http://127.0.0.1:{port}"
