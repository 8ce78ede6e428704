"""A small Iceberg REST catalog server for tests, over a PyIceberg SQL catalog:
config, OAuth2 client-credentials tokens, namespaces and tables (list, load,
create, drop, rename), table commits with their requirements checked, and the
multi-table `/transactions/commit` (which tests can switch off). Every call
but the token exchange needs the bearer token."""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pyiceberg.exceptions import (
    CommitFailedException,
    NamespaceAlreadyExistsError,
    NamespaceNotEmptyError,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import CommitTableRequest


class RestCatalogServer:
    def __init__(self, catalog, client_id, client_secret, prefix="floe-test"):
        self.catalog = catalog
        self.client_id = client_id
        self.client_secret = client_secret
        self.prefix = prefix
        self.token = "token-for-" + client_id
        self.requests = []
        # Whether POST …/transactions/commit exists.
        self.multi_table_commits = True
        # Status to answer the next table commit with after applying it (a
        # server that fails after the change landed).
        self.fail_after_next_commit = None
        # One commit at a time: a multi-table commit checks every table's
        # requirements before it changes any.
        self.commit_lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def reply(self, status, body=None):
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def error(self, status, kind, message):
                self.reply(status, {"error": {"message": message, "type": kind, "code": status}})

            def body(self):
                length = int(self.headers.get("Content-Length", 0))
                return self.rfile.read(length).decode()

            def route(self):
                """The path below the prefix, or None after answering."""
                auth = self.headers.get("Authorization")
                server.requests.append((self.command, self.path, auth))
                if auth != f"Bearer {server.token}":
                    self.error(401, "NotAuthorizedException", "missing or wrong token")
                    return None
                url = urllib.parse.urlparse(self.path)
                parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/")]
                if parts == ["v1", "config"]:
                    self.reply(200, {"defaults": {}, "overrides": {"prefix": server.prefix}})
                    return None
                if parts[:2] != ["v1", server.prefix]:
                    self.error(404, "NoSuchPathException", self.path)
                    return None
                return parts[2:], urllib.parse.parse_qs(url.query)

            def handle_errors(self, action):
                try:
                    action()
                except (NoSuchNamespaceError, NoSuchTableError) as e:
                    self.error(404, type(e).__name__.replace("Error", "Exception"), str(e))
                except (NamespaceAlreadyExistsError, TableAlreadyExistsError) as e:
                    self.error(409, "AlreadyExistsException", str(e))
                except NamespaceNotEmptyError as e:
                    self.error(409, "NamespaceNotEmptyException", str(e))
                except CommitFailedException as e:
                    self.error(409, "CommitFailedException", str(e))

            def do_HEAD(self):
                self.do_GET()

            def do_GET(self):
                routed = self.route()
                if routed is not None:
                    self.handle_errors(lambda: self.get(*routed))

            def get(self, rest, query):
                if rest == ["namespaces"]:
                    parent = tuple(query["parent"][0].split("\x1f")) if "parent" in query else ()
                    names = [list(n) for n in server.catalog.list_namespaces(parent)]
                    return self.reply(200, {"namespaces": names})
                if len(rest) == 2 and rest[0] == "namespaces":
                    ns = namespace(rest[1])
                    props = server.catalog.load_namespace_properties(ns)
                    return self.reply(200, {"namespace": list(ns), "properties": props})
                if len(rest) == 3 and rest[0] == "namespaces" and rest[2] == "tables":
                    tables = server.catalog.list_tables(namespace(rest[1]))
                    return self.reply(200, {"identifiers": [
                        {"namespace": list(t[:-1]), "name": t[-1]} for t in tables]})
                if len(rest) == 4 and rest[0] == "namespaces" and rest[2] == "tables":
                    table = server.catalog.load_table(namespace(rest[1]) + (rest[3],))
                    return self.reply(200, load_result(table))
                return self.error(404, "NoSuchPathException", self.path)

            def do_POST(self):
                if self.path.endswith("/v1/oauth/tokens"):
                    return self.token()
                routed = self.route()
                if routed is not None:
                    body = json.loads(self.body() or "{}")
                    self.handle_errors(lambda: self.post(routed[0], body))

            def token(self):
                body = urllib.parse.parse_qs(self.body())
                server.requests.append(("POST", self.path, None))
                if (body.get("grant_type") != ["client_credentials"]
                        or body.get("client_id") != [server.client_id]
                        or body.get("client_secret") != [server.client_secret]):
                    return self.error(401, "NotAuthorizedException", "bad client credentials")
                self.reply(200, {"access_token": server.token, "token_type": "bearer",
                                 "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                                 "expires_in": 3600})

            def post(self, rest, body):
                if rest == ["namespaces"]:
                    ns = tuple(body["namespace"])
                    server.catalog.create_namespace(ns, body.get("properties") or {})
                    return self.reply(200, {"namespace": list(ns),
                                            "properties": body.get("properties") or {}})
                if len(rest) == 3 and rest[0] == "namespaces" and rest[2] == "tables":
                    if body.get("stage-create"):
                        return self.error(406, "UnsupportedOperationException", "staged create")
                    schema = Schema.model_validate(body["schema"])
                    spec = body.get("partition-spec")
                    if spec:
                        # The REST protocol leaves partition field ids to the server.
                        for i, field in enumerate(spec.get("fields", [])):
                            field.setdefault("field-id", 1000 + i)
                    table = server.catalog.create_table(
                        namespace(rest[1]) + (body["name"],),
                        schema=schema,
                        location=body.get("location"),
                        partition_spec=PartitionSpec.model_validate(spec) if spec else PartitionSpec(),
                        properties=body.get("properties") or {},
                    )
                    return self.reply(200, load_result(table))
                if len(rest) == 4 and rest[0] == "namespaces" and rest[2] == "tables":
                    request = CommitTableRequest.model_validate(body)
                    ident = namespace(rest[1]) + (rest[3],)
                    with server.commit_lock:
                        response = commit(ident, request)
                        failure = server.fail_after_next_commit
                        server.fail_after_next_commit = None
                    if failure:
                        return self.error(failure, "ServiceFailureException", "injected failure")
                    return self.reply(200, {"metadata-location": response.metadata_location,
                                            "metadata": json.loads(response.metadata.model_dump_json())})
                if rest == ["tables", "rename"]:
                    source = tuple(body["source"]["namespace"]) + (body["source"]["name"],)
                    target = tuple(body["destination"]["namespace"]) + (body["destination"]["name"],)
                    server.catalog.rename_table(source, target)
                    return self.reply(204)
                if rest == ["transactions", "commit"] and server.multi_table_commits:
                    changes = body["table-changes"]
                    requests = [CommitTableRequest.model_validate(c) for c in changes]
                    idents = [tuple(c["identifier"]["namespace"]) + (c["identifier"]["name"],)
                              for c in changes]
                    with server.commit_lock:
                        for ident, request in zip(idents, requests):
                            metadata = server.catalog.load_table(ident).metadata
                            for requirement in request.requirements:
                                requirement.validate(metadata)
                        for ident, request in zip(idents, requests):
                            commit(ident, request)
                    return self.reply(204)
                return self.error(404, "NoSuchPathException", self.path)

            def do_DELETE(self):
                routed = self.route()
                if routed is not None:
                    self.handle_errors(lambda: self.delete(*routed))

            def delete(self, rest, query):
                if len(rest) == 2 and rest[0] == "namespaces":
                    server.catalog.drop_namespace(namespace(rest[1]))
                    return self.reply(204)
                if len(rest) == 4 and rest[0] == "namespaces" and rest[2] == "tables":
                    server.catalog.drop_table(namespace(rest[1]) + (rest[3],))
                    return self.reply(204)
                return self.error(404, "NoSuchPathException", self.path)

        def namespace(text):
            return tuple(text.split("\x1f"))

        def load_result(table):
            with open(table.metadata_location.removeprefix("file://")) as f:
                metadata = json.load(f)
            return {"metadata-location": table.metadata_location, "metadata": metadata, "config": {}}

        def commit(ident, request):
            table = server.catalog.load_table(ident)
            return server.catalog.commit_table(table, request.requirements, request.updates)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.uri = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
