"""Checks, in the Kotlin client openapi-generator made from the contract, that each token request
a mobile app sends can be expressed: a password login, a refresh and a partner's client
credentials, through the standard token endpoint (`createOauthToken`). Each needs the grant's
value in the grant-type enum and its own parameters in the request class, with every parameter
it does not use optional (`: kotlin.String? = null`), so a request carries only its own.

Usage: kotlin_token_check.py <generated Kotlin client directory>
"""

import pathlib
import re
import sys

root = pathlib.Path(sys.argv[1])
sources = {p.name: p.read_text() for p in root.rglob("*.kt")}
failures = []

api = next((text for text in sources.values() if "fun createOauthToken(" in text), "")
call = re.search(r"fun createOauthToken\((\w+): (\w+)\)", api)
if not call:
    sys.exit("kotlin: no createOauthToken(request) operation in the generated API")
request_class = call.group(2)
request = sources.get(f"{request_class}.kt", "")
fields = dict(re.findall(r'@Json\(name = "(\w+)"\)\s*val \w+: ([\w.]+\??(?: = null)?)', request))
grant_type = fields.get("grant_type", "")
enum = sources.get(f"{grant_type}.kt", "")
grants = set(re.findall(r'@Json\(name = "(\w+)"\)', enum))

GRANTS = {
    "password": {"username", "password"},
    "refresh_token": {"refresh_token"},
    "client_credentials": {"client_id", "client_secret", "scope"},
}
optional = {name for name, kind in fields.items() if kind.endswith("? = null")}
for grant, needs in GRANTS.items():
    if grant not in grants:
        failures.append(f"{grant}: not a value of {grant_type or 'the grant type'} ({sorted(grants)})")
    missing = needs - set(fields)
    if missing:
        failures.append(f"{grant}: {request_class} has no {sorted(missing)}")
    others = set().union(*GRANTS.values()) - needs
    required_others = others - optional
    if required_others:
        failures.append(f"{grant}: {request_class} requires {sorted(required_others)}, which it does not send")

if failures:
    print("kotlin: the token requests cannot all be expressed:", *failures, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"kotlin: {request_class} expresses a password login, a refresh and client credentials ({grant_type}: {', '.join(sorted(grants))})")
