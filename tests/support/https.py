"""A real HTTPS server on 127.0.0.1 for download tests: a throwaway certificate authority made at test time
(``cryptography``), a server certificate it signs for the IP 127.0.0.1, and ``SSL_CERT_FILE`` pointing at
the authority so Python's default TLS context (the one archspec downloads with) trusts exactly that.

Routes: ``serve(path, data)`` answers ``GET path`` with ``data``; ``redirect(path, location)`` with a 302;
``endless(path)`` streams zeros without a Content-Length until the client hangs up (or ``cap`` bytes).
``requests`` lists the paths asked for, ``sent`` the bytes written per path."""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import ssl
import threading
from pathlib import Path

import pytest


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def cert(subject, issuer, key, signer, ca: bool):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                                  critical=False))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False),
                                            critical=True)
        else:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False).add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "archspec test CA")])
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(cert(ca_name, ca_name, ca_key, ca_key, True).public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert(name, ca_name, key, ca_key, False).public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


class Server:
    def __init__(self, folder: Path, tls: bool = True, cap: int = 64 << 20):
        self.routes: dict[str, tuple[str, object]] = {}
        self.requests: list[str] = []
        self.sent: dict[str, int] = {}
        self.cap = cap
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                owner.requests.append(self.path)
                kind, value = owner.routes.get(self.path, ("missing", None))
                if kind == "data":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(value)))
                    self.end_headers()
                    self.wfile.write(value)
                    owner.sent[self.path] = len(value)
                elif kind == "redirect":
                    self.send_response(302)
                    self.send_header("Location", value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif kind == "endless":
                    self.send_response(200)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    chunk, sent = bytes(1 << 16), 0
                    try:
                        while sent < owner.cap:
                            self.wfile.write(chunk)
                            sent += len(chunk)
                            owner.sent[self.path] = sent
                    except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                        pass
                    self.close_connection = True
                else:
                    self.send_error(404)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.ca = None
        if tls:
            self.ca, certificate, key = _certificates(folder)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certificate, key)
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def serve(self, path: str, data: bytes) -> str:
        self.routes[path] = ("data", data)
        return self.url + path

    def redirect(self, path: str, location: str) -> str:
        self.routes[path] = ("redirect", location)
        return self.url + path

    def endless(self, path: str) -> str:
        self.routes[path] = ("endless", None)
        return self.url + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def https_server(tmp_path_factory, monkeypatch):
    """A :class:`Server` whose authority Python's default TLS context trusts (``SSL_CERT_FILE``; no proxy)."""
    server = Server(tmp_path_factory.mktemp("https"))
    monkeypatch.setenv("SSL_CERT_FILE", str(server.ca))
    for proxy in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(proxy, raising=False)
    yield server
    server.close()
