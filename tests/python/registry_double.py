"""A Schema Registry double on 127.0.0.1 for the tests: the subset of the
REST API fstore uses, answered as the registry documents it.

- GET  /schemas/ids/{id}                -> {"schema": text} or 404 (40403)
- POST /subjects/{subject}/versions     {"schema": text} -> {"id": id};
  the same schema text (compared as parsed JSON) keeps its id, under any
  subject; a subject in `incompatible` answers 409 (as the registry does for
  a schema its compatibility rule refuses); a body that is not an Avro
  schema in JSON answers 422 (42201)
- GET  /subjects/{subject}/versions     -> [1, 2, ...] or 404 (40401)

Ids are handed out from `first_id` on; `preload` puts schemas under ids
chosen by the test (a registry that already holds the events' schema).
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RegistryDouble:
    def __init__(self, first_id=100, preload=None):
        self.lock = threading.Lock()
        self.by_id = {}        # id -> schema text
        self.subjects = {}     # subject -> [id, ...]
        self.incompatible = set()
        self.requests = []     # (method, path)
        self.next_id = first_id
        for sid, text in (preload or {}).items():
            self.by_id[int(sid)] = text
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def schema_of(self, subject):
        """The latest schema text registered under subject."""
        with self.lock:
            return self.by_id[self.subjects[subject][-1]]

    def _register(self, subject, text):
        try:
            canon = json.dumps(json.loads(text), sort_keys=True)
        except ValueError:
            return 422, {"error_code": 42201, "message": "Invalid schema"}
        with self.lock:
            if subject in self.incompatible:
                return 409, {"error_code": 409,
                             "message": "Schema being registered is incompatible with "
                                        "an earlier schema for subject \"%s\"" % subject}
            sid = next((i for i, t in self.by_id.items()
                        if json.dumps(json.loads(t), sort_keys=True) == canon), None)
            if sid is None:
                sid = self.next_id
                self.next_id += 1
                self.by_id[sid] = text
            versions = self.subjects.setdefault(subject, [])
            if sid not in versions:
                versions.append(sid)
            return 200, {"id": sid}

    def _handler(self):
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                double.requests.append(("GET", self.path))
                parts = self.path.strip("/").split("/")
                if len(parts) == 3 and parts[:2] == ["schemas", "ids"] and parts[2].isdigit():
                    with double.lock:
                        text = double.by_id.get(int(parts[2]))
                    if text is not None:
                        return self._answer(200, {"schema": text})
                    return self._answer(404, {"error_code": 40403,
                                              "message": "Schema not found"})
                if len(parts) == 3 and parts[0] == "subjects" and parts[2] == "versions":
                    with double.lock:
                        ids = double.subjects.get(parts[1])
                    if ids:
                        return self._answer(200, list(range(1, len(ids) + 1)))
                    return self._answer(404, {"error_code": 40401,
                                              "message": "Subject not found"})
                self._answer(404, {"error_code": 404, "message": "HTTP 404 Not Found"})

            def do_POST(self):
                double.requests.append(("POST", self.path))
                parts = self.path.strip("/").split("/")
                n = int(self.headers.get("Content-Length", 0))
                try:
                    body = json.loads(self.rfile.read(n))
                    text = body["schema"]
                    assert isinstance(text, str)
                except (ValueError, KeyError, TypeError, AssertionError):
                    return self._answer(422, {"error_code": 42201,
                                              "message": "Invalid schema"})
                if len(parts) == 3 and parts[0] == "subjects" and parts[2] == "versions":
                    return self._answer(*double._register(parts[1], text))
                self._answer(404, {"error_code": 404, "message": "HTTP 404 Not Found"})

        return Handler
