"""A small Iceberg REST catalog server for tests: the read side of the REST
protocol (config, OAuth2 client-credentials token, namespaces, tables, load
table) over a PyIceberg SQL catalog, requiring a bearer token on every call."""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError


class RestCatalogServer:
    def __init__(self, catalog, client_id, client_secret, prefix="floe-test"):
        self.catalog = catalog
        self.client_id = client_id
        self.client_secret = client_secret
        self.prefix = prefix
        self.token = "token-for-" + client_id
        self.requests = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body=None):
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def error(self, status, kind, message):
                self.reply(status, {"error": {"message": message, "type": kind, "code": status}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = urllib.parse.parse_qs(self.rfile.read(length).decode())
                server.requests.append(("POST", self.path, None))
                if not self.path.endswith("/v1/oauth/tokens"):
                    return self.error(405, "NotSupported", "read-only test catalog")
                if (body.get("grant_type") != ["client_credentials"]
                        or body.get("client_id") != [server.client_id]
                        or body.get("client_secret") != [server.client_secret]):
                    return self.error(401, "NotAuthorizedException", "bad client credentials")
                self.reply(200, {"access_token": server.token, "token_type": "bearer",
                                 "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                                 "expires_in": 3600})

            def do_HEAD(self):
                self.do_GET(head=True)

            def do_GET(self, head=False):
                auth = self.headers.get("Authorization")
                server.requests.append(("GET", self.path, auth))
                if auth != f"Bearer {server.token}":
                    return self.error(401, "NotAuthorizedException", "missing or wrong token")
                url = urllib.parse.urlparse(self.path)
                parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/")]
                if parts == ["v1", "config"]:
                    return self.reply(200, {"defaults": {}, "overrides": {"prefix": server.prefix}})
                if parts[:2] != ["v1", server.prefix]:
                    return self.error(404, "NoSuchPathException", self.path)
                rest = parts[2:]
                try:
                    if rest == ["namespaces"]:
                        query = urllib.parse.parse_qs(url.query)
                        parent = tuple(query["parent"][0].split("\x1f")) if "parent" in query else ()
                        names = [list(n) for n in server.catalog.list_namespaces(parent)]
                        return self.reply(200, {"namespaces": names})
                    if len(rest) == 2 and rest[0] == "namespaces":
                        ns = tuple(rest[1].split("\x1f"))
                        props = server.catalog.load_namespace_properties(ns)
                        return self.reply(200, {"namespace": list(ns), "properties": props})
                    if len(rest) == 3 and rest[0] == "namespaces" and rest[2] == "tables":
                        ns = tuple(rest[1].split("\x1f"))
                        tables = server.catalog.list_tables(ns)
                        return self.reply(200, {"identifiers": [
                            {"namespace": list(t[:-1]), "name": t[-1]} for t in tables]})
                    if len(rest) == 4 and rest[0] == "namespaces" and rest[2] == "tables":
                        ns = tuple(rest[1].split("\x1f"))
                        table = server.catalog.load_table(ns + (rest[3],))
                        if head:
                            return self.reply(204)
                        location = table.metadata_location
                        with open(location.removeprefix("file://")) as f:
                            metadata = json.load(f)
                        return self.reply(200, {"metadata-location": location,
                                                "metadata": metadata, "config": {}})
                except (NoSuchNamespaceError, NoSuchTableError) as e:
                    return self.error(404, type(e).__name__.replace("Error", "Exception"), str(e))
                return self.error(404, "NoSuchPathException", self.path)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.uri = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
