"""The README's quickstart, through a client generated from /openapi.json.

Run by .ci/contract.sh against `simgate serve --sandbox`, with the client
package `simgate_client` (openapi-python-client, no hand edits) on
PYTHONPATH, SIMGATE_URL and SIMGATE_KEY in the environment. Fails with an
assertion naming what the API answered when a step does not hold.
"""

import os
import time
import uuid

from simgate_client import AuthenticatedClient
from simgate_client.api.esims import get_esim, get_esim_qr_png, get_esim_usage
from simgate_client.api.orders import create_order, get_order
from simgate_client.api.products import list_products
from simgate_client.models import (
    CreateOrder,
    EsimView,
    ListProductsCountry,
    OrderView,
    ProductPage,
    UsageView,
)

# The catalogue is synced in the background after start; bounded wait for it.
CATALOGUE_DEADLINE_S = 60


def japanese_products(client: AuthenticatedClient) -> ProductPage:
    """JP products, cheapest first, once the catalogue has them."""
    deadline = time.monotonic() + CATALOGUE_DEADLINE_S
    while True:
        answer = list_products.sync_detailed(client=client, country=ListProductsCountry.JP, limit=50)
        assert answer.status_code == 200, (answer.status_code, answer.content)
        page = answer.parsed
        assert isinstance(page, ProductPage), answer.content
        if page.data:
            return page
        assert time.monotonic() < deadline, "no JP products in the catalogue"
        time.sleep(0.5)


def main() -> None:
    client = AuthenticatedClient(
        base_url=os.environ["SIMGATE_URL"],
        token=os.environ["SIMGATE_KEY"],
        raise_on_unexpected_status=True,
    )

    page = japanese_products(client)
    # Cheapest first in the tenant's currency (USD without pricing rules),
    # GBP prices compared at the GBP -> USD demo rate serve --sandbox seeds;
    # a price no FX rate converts comes after every converted one.
    to_usd = {"USD": 1.0, "GBP": 1.27}
    currencies = [str(getattr(p.price.currency, "value", p.price.currency)) for p in page.data]
    converted = [float(p.price.amount) * to_usd[c] for p, c in zip(page.data, currencies) if c in to_usd]
    assert converted, f"no convertible prices among {currencies}"
    assert all(a <= b + 1e-6 for a, b in zip(converted, converted[1:])), f"not cheapest first: {converted}"
    first_other = next((i for i, c in enumerate(currencies) if c not in to_usd), len(currencies))
    assert all(c not in to_usd for c in currencies[first_other:]), f"unconverted mixed in: {currencies}"
    for product in page.data:
        assert "JP" in product.countries, product.to_dict()
    product = next(p for p in page.data if p.provider == "esim-go")
    print(f"readme flow: {page.total} JP products; ordering {product.id}")

    key = f"readme-flow-{uuid.uuid4()}"
    body = CreateOrder(product_id=product.id)
    placed = create_order.sync_detailed(client=client, body=body, idempotency_key=key, wait="30s")
    assert placed.status_code == 201, (placed.status_code, placed.content)
    order = placed.parsed
    assert isinstance(order, OrderView), placed.content
    assert order.status.value == "completed", order.to_dict()
    assert order.product_id == product.id
    assert len(order.esims) == 1, order.to_dict()

    replayed = create_order.sync_detailed(client=client, body=body, idempotency_key=key)
    assert replayed.status_code == 200, (replayed.status_code, replayed.content)
    assert replayed.headers.get("idempotent-replayed") == "true"
    assert isinstance(replayed.parsed, OrderView) and replayed.parsed.id == order.id

    fetched = get_order.sync(client=client, id=order.id)
    assert isinstance(fetched, OrderView) and fetched.esims == order.esims

    iccid = order.esims[0]
    esim = get_esim.sync(client=client, iccid=iccid)
    assert isinstance(esim, EsimView), esim
    assert esim.iccid == iccid
    assert esim.activation_code == f"LPA:1${esim.smdp_address}${esim.matching_id}", esim.to_dict()
    assert esim.apple_install_url.startswith("https://"), esim.apple_install_url

    qr = get_esim_qr_png.sync_detailed(client=client, iccid=iccid)
    assert qr.status_code == 200 and qr.content.startswith(b"\x89PNG"), qr.status_code

    usage = get_esim_usage.sync(client=client, iccid=iccid)
    assert isinstance(usage, UsageView), usage
    assert usage.iccid == iccid
    assert len(usage.bundles) >= 1, usage.to_dict()
    print(f"readme flow: order {order.id}, eSIM {iccid}, {len(usage.bundles)} bundle(s): ok")


if __name__ == "__main__":
    main()
