"""W3 for instructions.sh: checkouts sent one at a time, each three cart
additions and a checkout with a fresh idempotency key, as the harness's own
W3 client does (src/checkout.rs). The first call signs the customer in and
picks three orderable items, kept in STATE for the later calls.

    python3 w3.py PORT CHECKOUTS STATE ROOT
"""
import json
import os
import sys
import urllib.request
import uuid

port, count, state, root = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
url = f"http://127.0.0.1:{port}/graphql"


def graphql(query, variables, token=None):
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    body = json.dumps({"query": query, "variables": variables}).encode()
    with urllib.request.urlopen(urllib.request.Request(url, body, headers)) as response:
        answer = json.load(response)
    if "errors" in answer:
        sys.exit(f"errors: {json.dumps(answer)[:500]}")
    return answer["data"]


if os.path.exists(state):
    with open(state) as f:
        shopper = json.load(f)
else:
    menus = graphql(
        "{ restaurants(first: 100) { edges { node { menu(first: 30) { edges { node {"
        " id available dailyStock optionGroups { required } } } } } } } }",
        {},
    )
    items = None
    for edge in menus["restaurants"]["edges"]:
        orderable = [
            e["node"]["id"]
            for e in edge["node"]["menu"]["edges"]
            if e["node"]["available"]
            and e["node"]["dailyStock"] is None
            and not any(g["required"] for g in e["node"]["optionGroups"])
        ]
        if len(orderable) >= 3:
            items = orderable[:3]
            break
    login = graphql(
        "mutation($input: LoginInput!) { login(input: $input) { session { accessToken } } }",
        {"input": {"email": "customer101@bistro.test", "password": "bistro-demo"}},
    )
    shopper = {"token": login["login"]["session"]["accessToken"], "items": items}
    with open(state, "w") as f:
        json.dump(shopper, f)

operations = os.path.join(root, "tests", "operations")
with open(os.path.join(operations, "AddToCart.graphql")) as f:
    add_to_cart = f.read()
with open(os.path.join(operations, "Checkout.graphql")) as f:
    checkout = f.read()
for _ in range(count):
    subtotal = None
    for i, item in enumerate(shopper["items"]):
        added = graphql(
            add_to_cart,
            {"input": {"menuItemId": item, "quantity": 1, "replaceCart": i == 0}},
            shopper["token"],
        )["addToCart"]
        if added["userErrors"]:
            sys.exit(f"cart: {added['userErrors']}")
        subtotal = added["cart"]["subtotal"]["amount"]
    placed = graphql(
        checkout,
        {
            "input": {
                "fulfilment": "PICKUP",
                "paymentToken": "tok_visa",
                "idempotencyKey": str(uuid.uuid4()),
                "expectedTotal": subtotal,
            }
        },
        shopper["token"],
    )["checkout"]
    if not (placed["order"] or {}).get("id"):
        sys.exit(f"checkout: {placed['userErrors']}")
