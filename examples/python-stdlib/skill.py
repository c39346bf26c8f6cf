#!/usr/bin/env python3
"""A skill web service in plain Python 3 (standard library only) that checks Alexa Link's access
tokens itself, by token introspection (RFC 7662). The contract it follows: docs/skill-integration.md.

    ALEXA_LINK_URL=https://alexa-link.example.org RESOURCE_SERVER_SECRET=... \
    ALEXA_CLIENT_ID=amzn1.application-oa2-client.... PORT=8080 python3 skill.py

Prints the bound port as one JSON line on stdout ({"port": 8080}); PORT=0 takes a free port. Logs
go to stderr, as JSON lines, with a token only ever named by the start of its SHA-256.

NOT FOR PRODUCTION AS IS: it does not verify that a request comes from Amazon. A web-service skill
must check the request signature, its timestamp and the skill id (Amazon's "Host a custom skill as
a web service"), e.g. with ask-sdk-webservice-support's verifiers, or sit behind Alexa Link's skill
guard, which does this before forwarding.
"""

import base64
import hashlib
import http.client
import json
import math
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def setting(name):
    value = os.environ.get(name)
    if not value:
        sys.stderr.write(f"{name} must be set\n")
        sys.exit(2)
    return value


ALEXA_LINK_URL = setting("ALEXA_LINK_URL").rstrip("/")
RESOURCE_SERVER_SECRET = setting("RESOURCE_SERVER_SECRET")
ALEXA_CLIENT_ID = setting("ALEXA_CLIENT_ID")
PORT = int(os.environ.get("PORT", "8080"))
HOST = os.environ.get("HOST", "127.0.0.1")

# Alexa Link's fixed client id for resource servers, and the scope a link must carry.
CLIENT_ID = "music_assistant"
SCOPE = "music_assistant"
# Alexa waits 8 s for a skill's answer; introspection must leave room for the rest.
INTROSPECTION_TIMEOUT_S = 3
# An active answer is reused for at most this long (and never beyond the token's `exp`).
CACHE_S = 60
CACHE_MAX_ENTRIES = 10_000
MAX_BODY_BYTES = 256 * 1024

# RFC 6749 section 2.3.1: both parts form-encoded, then Basic.
BASIC = "Basic " + base64.b64encode(
    f"{urllib.parse.quote_plus(CLIENT_ID)}:{urllib.parse.quote_plus(RESOURCE_SERVER_SECRET)}".encode()
).decode("ascii")

# The only request types that may carry speech and a card; every other type gets an empty response.
SPOKEN_TYPES = {"LaunchRequest", "IntentRequest"}

UNLINKED = {"status": "unlinked"}
UNAVAILABLE = {"status": "unavailable"}


def log(event, **fields):
    line = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": event, **fields}
    sys.stderr.write(json.dumps(line) + "\n")
    sys.stderr.flush()


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would carry the secret somewhere else: it becomes an HTTPError instead."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


OPENER = urllib.request.build_opener(NoRedirects)

# sha256(token) -> (answer, until): the key is a digest, so the cache (and the logs) never hold a token.
cache = {}
cache_lock = threading.Lock()


def remember(key, answer, until):
    with cache_lock:
        if len(cache) >= CACHE_MAX_ENTRIES:
            now = time.time()
            for cached in [k for k, (_, u) in cache.items() if u <= now]:
                del cache[cached]
            # Still full: drop the oldest entry (a dict keeps insertion order).
            if len(cache) >= CACHE_MAX_ENTRIES:
                del cache[next(iter(cache))]
        cache[key] = (answer, until)


def check_token(token):
    """What Alexa Link says about an access token: linked (with the Home Assistant user), unlinked,
    or unavailable when there was no usable answer. Fails closed: only a 200 with a well-formed
    active answer for our client and scope is linked."""
    if not isinstance(token, str) or token == "":
        return UNLINKED
    key = hashlib.sha256(token.encode("utf-8")).hexdigest()
    token_ref = key[:12]
    now = time.time()
    with cache_lock:
        cached = cache.get(key)
        if cached is not None:
            if cached[1] > now:
                return cached[0]
            del cache[key]

    request = urllib.request.Request(
        f"{ALEXA_LINK_URL}/introspect",
        data=urllib.parse.urlencode({"token": token}).encode("ascii"),
        headers={
            "Authorization": BASIC,
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        },
        method="POST",
    )
    try:
        with OPENER.open(request, timeout=INTROSPECTION_TIMEOUT_S) as response:
            if response.status != 200:
                log("introspection_failed", status=response.status, token=token_ref)
                return UNAVAILABLE
            body = json.loads(response.read())
    except urllib.error.HTTPError as error:
        # 401: wrong RESOURCE_SERVER_SECRET (or none configured in the add-on); 429: limits; 503: storage.
        log("introspection_failed", status=error.code, token=token_ref)
        error.close()
        return UNAVAILABLE
    except (OSError, http.client.HTTPException, ValueError) as error:
        # Network errors and timeouts (URLError is an OSError), broken HTTP, answers that are not JSON.
        # A URLError names its cause (ConnectionRefusedError, TimeoutError, ...) in `reason`.
        reason = getattr(error, "reason", error)
        log("introspection_failed", error=type(reason).__name__ if isinstance(reason, BaseException) else str(reason), token=token_ref)
        return UNAVAILABLE
    if not isinstance(body, dict) or not isinstance(body.get("active"), bool):
        log("introspection_failed", error="malformed answer", token=token_ref)
        return UNAVAILABLE
    if not body["active"]:
        return UNLINKED
    exp = body.get("exp")
    # Python's json reads NaN and Infinity: only a finite number is an expiry.
    expires_at = exp if isinstance(exp, (int, float)) and not isinstance(exp, bool) and math.isfinite(exp) else 0
    scope = body.get("scope")
    scopes = scope.split(" ") if isinstance(scope, str) else []
    if body.get("client_id") != ALEXA_CLIENT_ID or SCOPE not in scopes or not isinstance(body.get("sub"), str) or expires_at <= now:
        log("token_refused", clientId=str(body.get("client_id")), token=token_ref)
        return UNLINKED
    username = body.get("username")
    answer = {"status": "linked", "user": {"id": body["sub"], "name": username if isinstance(username, str) else None}}
    remember(key, answer, min(expires_at, now + CACHE_S))
    return answer


def speech(text, session_attributes, link_account_card=False):
    response = {"outputSpeech": {"type": "PlainText", "text": text}, "shouldEndSession": True}
    if link_account_card:
        response["card"] = {"type": "LinkAccount"}
    return envelope(response, session_attributes)


def envelope(response, session_attributes):
    answer = {"version": "1.0"}
    # Session attributes only when there are some (never with an empty answer, see handle()).
    if session_attributes:
        answer["sessionAttributes"] = session_attributes
    answer["response"] = response
    return answer


def handle(request_envelope):
    request_type = request_envelope["request"]["type"]
    # Sent back with the answer, as ask-sdk does (this example sets none of its own).
    session = request_envelope.get("session")
    session_attributes = session.get("attributes") if isinstance(session, dict) else None
    # context.System.user.accessToken: absent while the Alexa account is not linked.
    system = (request_envelope.get("context") or {}).get("System") or {}
    token = (system.get("user") or {}).get("accessToken")
    link = check_token(token)

    if request_type not in SPOKEN_TYPES:
        # AudioPlayer.*, PlaybackController.*, System.ExceptionEncountered, SessionEndedRequest, ...:
        # no speech and no card allowed, linked or not.
        return envelope({}, None)
    if link["status"] == "unavailable":
        # Not a LinkAccount card: the link is probably fine, Alexa Link is just out of reach.
        return speech("Sorry, I can't reach your Home Assistant right now. Please try again in a moment.", session_attributes)
    if link["status"] != "linked":
        return speech(
            "To use Music Assistant, link your Home Assistant account in the Alexa app. I have sent a card there.",
            session_attributes,
            link_account_card=True,
        )
    if request_type == "LaunchRequest":
        name = link["user"]["name"]
        greeting = f"Hello {name}." if name else "Hello."
        return speech(f"{greeting} Music Assistant is linked.", session_attributes)
    return speech("This example only says hello.", session_attributes)


class SkillHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.send_json(411)
            return
        if length < 0 or length > MAX_BODY_BYTES:
            self.send_json(413)
            return
        try:
            request_envelope = json.loads(self.rfile.read(length))
            if not isinstance(request_envelope.get("request", {}).get("type"), str):
                raise ValueError("no request type")
        except (ValueError, AttributeError):
            self.send_json(400)
            return
        try:
            answer = handle(request_envelope)
        except Exception as error:  # noqa: BLE001 - one failed request must not stop the service
            log("skill_error", error=type(error).__name__)
            self.send_json(500)
            return
        self.send_json(200, answer)

    def do_GET(self):
        self.send_json(405)

    def send_json(self, status, body=None):
        data = b"" if body is None else json.dumps(body).encode("utf-8")
        self.send_response(status)
        if status == 405:
            self.send_header("Allow", "POST")
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        # The default access log is not JSON; errors are logged where they happen.
        pass


def main():
    server = ThreadingHTTPServer((HOST, PORT), SkillHandler)
    server.daemon_threads = True
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
