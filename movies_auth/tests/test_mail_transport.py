"""Mail leaves over real SMTP with TLS: STARTTLS and implicit TLS (smtps://), the server's certificate checked."""

from __future__ import annotations

import datetime
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from auth_support import API, PASSWORD
from mail_support import SMTPServer


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1: (cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)


def server_context(certificate) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def register_and_deliver(app, client) -> str:
    client.post(f"{API}/users", json={"email": "ada@example.com", "password": PASSWORD})
    return app.test_cli_runner().invoke(args=["mail", "send"]).output


def test_starttls(app, client, limits, certificate):
    server = SMTPServer(tls_context=server_context(certificate), require_starttls=True)
    server.start()
    limits(smtp_url=SecretStr(f"smtp://127.0.0.1:{server.port}?starttls=true"), smtp_ca_file=certificate[0])
    try:
        output = register_and_deliver(app, client)
    finally:
        server.stop()

    assert "1 sent" in output
    assert len(server.mailbox.to("ada@example.com")) == 1


def test_implicit_tls(app, client, limits, certificate):
    server = SMTPServer(server_hostname="127.0.0.1", ssl_context=server_context(certificate))
    server.start()
    limits(smtp_url=SecretStr(f"smtps://127.0.0.1:{server.port}"), smtp_ca_file=certificate[0])
    try:
        output = register_and_deliver(app, client)
    finally:
        server.stop()

    assert "1 sent" in output
    assert len(server.mailbox.to("ada@example.com")) == 1


def test_an_untrusted_certificate_is_refused_and_the_mail_kept(app, client, limits, certificate):
    server = SMTPServer(tls_context=server_context(certificate), require_starttls=True)
    server.start()
    limits(smtp_url=SecretStr(f"smtp://127.0.0.1:{server.port}?starttls=true"))  # no CA file: not trusted
    try:
        output = register_and_deliver(app, client)
    finally:
        server.stop()

    assert "0 sent, 1 to retry" in output
    assert server.mailbox.messages == []


def test_a_malformed_smtp_url_is_refused_at_start():
    from movies_auth.settings import Settings

    with pytest.raises(ValueError, match="SMTP_URL must look like"):
        Settings(_env_file=None, smtp_url="http://mail.example.com")
