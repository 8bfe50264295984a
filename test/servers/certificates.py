"""Throwaway TLS certificates for the test servers, made with openssl."""

import os
import ssl
import subprocess


def self_signed_context(directory, common_name, alt_names):
    """A TLS server context with a fresh self-signed certificate.

    The certificate and its key are written to DIRECTORY; the
    certificate names COMMON_NAME and ALT_NAMES (subjectAltName
    entries such as "IP:127.0.0.1").  Returns the context and the
    certificate's file, which clients may trust."""
    cert = os.path.join(directory, "cert.pem")
    key = os.path.join(directory, "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=" + common_name,
         "-addext", "subjectAltName=" + ",".join(alt_names)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert
