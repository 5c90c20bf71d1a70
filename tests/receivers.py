"""Real endpoints for notification tests: an HTTP receiver (webhooks,
Slack- and Teams-style URLs) and an SMTP server (aiosmtpd) on loopback,
plus the check a receiver makes of an SNS message signature."""

import base64
import email
import email.policy
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from harness import free_port


class Receiver:
    """Records every POST; answers each path with the status set for it
    (200 unless told otherwise; a list of statuses is used up in order)."""

    def __init__(self):
        self.requests = []
        self.statuses = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length).decode("utf-8")
                with receiver.lock:
                    planned = receiver.statuses.get(self.path, 200)
                    status = planned.pop(0) if isinstance(planned, list) and planned else planned
                    if isinstance(status, list):
                        status = 200
                    receiver.requests.append(
                        {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body, "status": status}
                    )
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def received(self, path, status=None):
        with self.lock:
            return [r for r in self.requests if r["path"] == path and (status is None or r["status"] == status)]

    def wait_for(self, path, count=1, timeout=20.0, status=None, where=lambda request: True):
        deadline = time.time() + timeout
        while True:
            found = [r for r in self.received(path, status) if where(r)]
            if len(found) >= count or time.time() > deadline:
                assert len(found) >= count, f"{path}: {len(found)} of {count} requests arrived: {self.received(path)}"
                return found
            time.sleep(0.05)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Mailbox:
    """A real SMTP server on loopback that keeps what it is sent."""

    def __init__(self):
        self.messages = []
        mailbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                message = email.message_from_bytes(envelope.content, policy=email.policy.default)
                mailbox.messages.append({"to": envelope.rcpt_tos, "from": envelope.mail_from, "message": message})
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def wait_for(self, count=1, timeout=20.0, where=lambda mail: True):
        deadline = time.time() + timeout
        while True:
            found = [m for m in self.messages if where(m)]
            if len(found) >= count or time.time() > deadline:
                assert len(found) >= count, f"{len(found)} of {count} mails arrived: {[m['message']['subject'] for m in self.messages]}"
                return found
            time.sleep(0.05)

    def close(self):
        self.controller.stop()


def body_text(mail):
    content = mail["message"].get_content()
    return content.decode("utf-8") if isinstance(content, bytes) else content


SIGNED_KEYS = {
    "Notification": ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
    "SubscriptionConfirmation": ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
    "UnsubscribeConfirmation": ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"],
}


def verify_signature(envelope):
    """What an SNS receiver does: fetch the SigningCertURL, rebuild the
    string to sign, check the signature (SHA1 for version 1, SHA256 for 2).
    Raises on a bad signature."""
    with urllib.request.urlopen(envelope["SigningCertURL"], timeout=5) as response:
        certificate = x509.load_pem_x509_certificate(response.read())
    text = "".join(f"{key}\n{envelope[key]}\n" for key in SIGNED_KEYS[envelope["Type"]] if key in envelope)
    digest = hashes.SHA256() if envelope["SignatureVersion"] == "2" else hashes.SHA1()
    certificate.public_key().verify(base64.b64decode(envelope["Signature"]), text.encode("utf-8"), padding.PKCS1v15(), digest)


def confirm_via_link(url):
    """Fetches a SubscribeURL as a person or a receiver would: a plain GET."""
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def envelope_of(request):
    return json.loads(request["body"])
