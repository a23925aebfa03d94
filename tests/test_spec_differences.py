# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Where 3CX's XAPI spec and 3CX part ways (docs/3cx-api.md §9): the simulator does what 3CX
does by default and the spec's word behind a switch, and the client works with both.

* ``POST /ActiveCalls({Id})/Pbx.DropCall``: the spec declares 200 with a ``Pbx.IActionResult``;
  3CX answers 204 without a body (``dropcall_status``).
* An XAPI 401: the spec declares the OData error shape; 3CX sends no body and says why in
  ``WWW-Authenticate`` (``xapi_401_body``).
"""

import pytest
import requests
from threecx_sim import SECRET, control, running_simulator
from xapi_schema import validate_response

from realtor_3cx.threecx.client import ThreecxClient
from realtor_3cx.threecx.errors import ApiError

CALLER = "+15550108871"


@pytest.fixture
def sim():
    with running_simulator() as sim:
        yield sim


@pytest.fixture
def client(sim):
    client = ThreecxClient(sim.url, "900", SECRET)
    yield client
    client.close()


def talking_call(sim, client):
    call = control(sim, "calls/inbound", {"from": CALLER, "to": "100", "ring_seconds": 600})
    client.callcontrol.answer("100", call["legs"][0]["id"])
    return call["callid"]


def drop_raw(sim, client, callid):
    return requests.post(f"{sim.url}/xapi/v1/ActiveCalls({callid})/Pbx.DropCall", json={},
                         timeout=5, headers={"Authorization": f"Bearer {client.tokens.token()}"})


@pytest.mark.parametrize("status", [204, 200])
def test_dropcall_answers_as_3cx_or_as_the_spec_and_the_client_takes_both(sim, client, status):
    if status == 200:
        control(sim, "config", {"dropcall_status": 200})
    first = talking_call(sim, client)
    response = drop_raw(sim, client, first)
    assert response.status_code == status
    if status == 204:
        assert response.content == b""  # what 3CX sends; the spec has no 204
    else:
        validate_response("post", "/ActiveCalls({Id})/Pbx.DropCall", response.json())
    second = talking_call(sim, client)
    client.xapi.drop_active_call(second)
    assert control(sim, f"calls/{second}", method="GET")["ended_by"] == "api"
    assert list(client.xapi.active_calls()) == []


def test_dropcall_refuses_other_statuses(sim):
    bad = requests.post(f"{sim.url}/_sim/config", json={"dropcall_status": 201}, timeout=5)
    assert bad.status_code == 422


@pytest.mark.parametrize("body, reason", [
    ("empty", 'Bearer error="invalid_token"'),
    ("odata", "The request requires valid user authentication."),
    ("oauth", "The request requires valid user authentication."),
])
def test_an_xapi_401_of_any_shape_re_mints_once_and_says_why(sim, client, body, reason):
    control(sim, "config", {"xapi_401_body": body})
    raw = requests.get(f"{sim.url}/xapi/v1/SystemStatus", timeout=5,
                       headers={"Authorization": "Bearer x.y.z"})
    assert raw.status_code == 401
    if body == "empty":
        assert raw.content == b"" and raw.headers["WWW-Authenticate"].startswith("Bearer")
    elif body == "odata":
        assert raw.json()["error"]["code"] == "Unauthorized"
        validate_response("get", "/SystemStatus", raw.json(), status=401)  # the spec's shape
    else:
        assert raw.json()["error"] == "unauthorized"
    # A revoked token: one re-mint, then the answer.
    client.xapi.system_status()
    control(sim, "faults", {"revoke_token": True})
    assert client.xapi.system_status()["Version"]
    assert client.tokens.minted == 2
    # A token 3CX keeps refusing: a clear error with 3CX's reason, whatever the shape.
    client.tokens.token = lambda: "x.y.z"
    client.tokens.invalidate = lambda token: None
    with pytest.raises(ApiError) as exc:
        client.xapi.system_status()
    assert exc.value.status == 401 and exc.value.reason == reason
    # Call Control keeps the token endpoint's shape (its 401 is documented, §1).
    cc = requests.get(f"{sim.url}/callcontrol", timeout=5,
                      headers={"Authorization": "Bearer x.y.z"})
    assert cc.status_code == 401 and cc.json()["error"] == "unauthorized"
