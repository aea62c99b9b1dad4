"""``officehub certs``: a private CA and the certificates a site needs (hub HTTPS, Mosquitto's TLS
listener, optional client certificates), made with ``cryptography``.

The CA lives in its own folder (``ca_dir``) and is reused on later runs, so renewing or adding a
host name never makes devices distrust the site; only ``ca.pem`` is copied next to the server files,
so the folder mounted into the containers never holds the CA's private key.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Names every compose site needs: the containers reach each other by service name, and health checks
# run against localhost inside each container.
DEFAULT_HOSTS = ("localhost", "127.0.0.1", "hub", "mosquitto")
CA_NAME = "OfficeHub private CA"
_CLIENT_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True, slots=True)
class Issued:
    cert_pem: bytes
    key_pem: bytes


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _san(hosts: Sequence[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(h.strip() for h in hosts if h.strip()):  # keep order, drop repeats
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def new_ca(*, name: str = CA_NAME, days: int = 3650) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - dt.timedelta(minutes=5)).not_valid_after(_now() + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return Issued(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def issue(*, ca: Issued, common_name: str, hosts: Sequence[str] = (), client: bool = False,
          days: int = 825) -> Issued:
    """A leaf certificate signed by ``ca``: a server certificate for ``hosts`` (DNS names or IPs),
    or with ``client`` a client certificate (mutual TLS). 825 days: what TLS clients still accept."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CA key is not an EC key made by `officehub certs`")
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
               .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(_now() - dt.timedelta(minutes=5)).not_valid_after(_now() + dt.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_agreement=True, key_cert_sign=False,
                                            crl_sign=False, content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, encipher_only=False, decipher_only=False),
                              critical=True)
               .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                              critical=False))
    if hosts:
        builder = builder.add_extension(_san(hosts), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return Issued(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _write(path: Path, data: bytes, *, private: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return path


def load_or_create_ca(ca_dir: Path, *, days: int = 3650) -> tuple[Issued, bool]:
    """The CA in ``ca_dir`` (ca.pem + ca.key), created on the first run; True when new."""
    cert, key = ca_dir / "ca.pem", ca_dir / "ca.key"
    if cert.exists() and key.exists():
        return Issued(cert.read_bytes(), key.read_bytes()), False
    ca = new_ca(days=days)
    _write(key, ca.key_pem, private=True)
    _write(cert, ca.cert_pem, private=False)
    return ca, True


def make_site_certs(*, out: Path, ca_dir: Path, hosts: Sequence[str] = (), clients: Sequence[str] = (),
                    days: int = 825) -> list[Path]:
    """``out``/ca.pem, server.pem, server.key (for the hub and Mosquitto alike) and
    ``out``/clients/<name>.pem/.key; returns the files written."""
    for name in clients:
        if not _CLIENT_NAME.fullmatch(name):
            raise ValueError(f"client name {name!r}: letters, digits, '_', '.', '-' only (it names the files)")
    ca, _ = load_or_create_ca(ca_dir)
    all_hosts = [*DEFAULT_HOSTS, *hosts]
    server = issue(ca=ca, common_name=next((h for h in hosts if h), "officehub"), hosts=all_hosts, days=days)
    written = [_write(out / "ca.pem", ca.cert_pem, private=False),
               _write(out / "server.pem", server.cert_pem, private=False),
               _write(out / "server.key", server.key_pem, private=True)]
    for name in clients:
        leaf = issue(ca=ca, common_name=name, client=True, days=days)
        written += [_write(out / "clients" / f"{name}.pem", leaf.cert_pem, private=False),
                    _write(out / "clients" / f"{name}.key", leaf.key_pem, private=True)]
    return written
