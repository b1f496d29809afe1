"""Signs a webhook body with each provider's own published library, for tests/verify.rs.

Usage: sign.py SCHEME SECRET TIMESTAMP ID < body
Prints the headers the provider would send, one `Name: value` a line.
"""
import sys
from datetime import datetime, timezone

scheme, secret, ts, msg_id = sys.argv[1:5]
body = sys.stdin.buffer.read()

if scheme == "standard":
    from standardwebhooks.webhooks import Webhook

    when = datetime.fromtimestamp(int(ts), tz=timezone.utc)
    sig = Webhook(secret).sign(msg_id, when, body.decode())
    print(f"webhook-id: {msg_id}\nwebhook-timestamp: {ts}\nwebhook-signature: {sig}")
elif scheme == "stripe":
    import stripe

    # What stripe-python's own tests use to make a Stripe-Signature.
    sig = stripe.WebhookSignature._compute_signature(f"{ts}.{body.decode()}", secret)
    print(f"Stripe-Signature: t={ts},v1={sig}")
elif scheme == "slack":
    from slack_sdk.signature import SignatureVerifier

    sig = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    print(f"X-Slack-Request-Timestamp: {ts}\nX-Slack-Signature: {sig}")
else:
    sys.exit(f"unknown scheme {scheme}")
