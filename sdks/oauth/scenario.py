"""A partner's engineer signs in with a standard OAuth 2.0 library (authlib), as they would with
any OAuth server, and nothing of this service's own: run by sdks/oauth/run.sh.

Discovery (RFC 8414), the password grant for a person with no client authentication, a refresh,
revocation (RFC 7009) after which the refresh token is refused, the client-credentials grant with
`client_secret_basic` and with `client_secret_post`, and each refusal read as the OAuth error RFC
6749 5.2 names: invalid_grant, invalid_client, invalid_scope, unauthorized_client,
unsupported_grant_type, invalid_request.
"""

import sys

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError

base, username, password = sys.argv[1:4]
steps = 0


def check(condition, message):
    global steps
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr)
        sys.exit(1)
    steps += 1


def refused(error, call):
    try:
        token = call()
    except OAuthError as e:
        check(e.error == error, f"expected {error}, got {e.error}: {e.description}")
        return
    check(False, f"expected {error}, got a token: {token}")


meta = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=10).json()
token_url, revoke_url = meta["token_endpoint"], meta["revocation_endpoint"]
check(token_url == f"{base}/api/v1/oauth/token", f"token endpoint {token_url}")
check({"password", "refresh_token", "client_credentials"} <= set(meta["grant_types_supported"]), "grants")

# A person: the password grant, no client authentication (a public client, such as the app).
person = OAuth2Session(token_endpoint_auth_method="none")
token = person.fetch_token(token_url, grant_type="password", username=username, password=password)
check(token["token_type"] == "Bearer" and token.get("refresh_token"), f"password grant: {token}")
me = person.get(f"{base}/api/v1/me", timeout=10)
check(me.status_code == 200 and me.json()["username"] == username, f"/me with the token: {me.status_code}")
first_refresh = token["refresh_token"]
renewed = person.refresh_token(token_url, refresh_token=first_refresh)
check(renewed["refresh_token"] != first_refresh, "refresh grant: a new refresh token")
refused("invalid_grant", lambda: person.refresh_token(token_url, refresh_token=first_refresh))

# Sign-out on another device: its refresh token revoked, then refused.
device = OAuth2Session(token_endpoint_auth_method="none")
device_token = device.fetch_token(token_url, grant_type="password", username=username, password=password)
r = device.revoke_token(revoke_url, device_token["refresh_token"], token_type_hint="refresh_token")
check(r.status_code == 200, f"revocation: {r.status_code} {r.text}")
refused("invalid_grant", lambda: device.refresh_token(token_url, refresh_token=device_token["refresh_token"]))
refused("invalid_grant", lambda: OAuth2Session(token_endpoint_auth_method="none").fetch_token(
    token_url, grant_type="password", username=username, password="not-the-password"))

# A partner organisation's API client, made by the administrator.
admin = {"Authorization": f"Bearer {renewed['access_token']}"}
org = requests.post(f"{base}/api/v1/organisations", json={"name": "希望之家", "kind": "social_organisation"},
                    headers=admin, timeout=10).json()
made = requests.post(f"{base}/api/v1/api-clients", headers=admin, timeout=10,
                     json={"organisation_id": org["id"], "name": "希望之家系统", "scopes": ["cases:read", "contacts:read"]})
check(made.status_code == 201, f"API client: {made.status_code} {made.text}")
client_id, secret = made.json()["client"]["id"], made.json()["client_secret"]

for method in ("client_secret_basic", "client_secret_post"):
    client = OAuth2Session(client_id, secret, token_endpoint_auth_method=method, scope="cases:read")
    token = client.fetch_token(token_url, grant_type="client_credentials")
    check(token.get("scope") == "cases:read" and "refresh_token" not in token, f"{method}: {token}")
    children = client.get(f"{base}/api/v1/children", timeout=10)
    check(children.status_code == 200, f"{method}: children with the client's token: {children.status_code}")
    wrong = OAuth2Session(client_id, "not-the-secret", token_endpoint_auth_method=method)
    refused("invalid_client", lambda: wrong.fetch_token(token_url, grant_type="client_credentials"))
    greedy = OAuth2Session(client_id, secret, token_endpoint_auth_method=method, scope="reports:read")
    refused("invalid_scope", lambda: greedy.fetch_token(token_url, grant_type="client_credentials"))

client = OAuth2Session(client_id, secret, token_endpoint_auth_method="client_secret_basic")
refused("unauthorized_client", lambda: client.fetch_token(
    token_url, grant_type="password", username=username, password=password))
refused("unsupported_grant_type", lambda: client.fetch_token(token_url, grant_type="urn:example:magic"))
refused("invalid_request", lambda: OAuth2Session(token_endpoint_auth_method="none").fetch_token(
    token_url, grant_type="password", username=username))

print(f"OAuth scenario with authlib: {steps} checks passed")
