// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { describe, expect, test } from "@odoo/hoot";
import { contains, defineMailModels, start, startServer } from "@mail/../tests/mail_test_helpers";
import { getService, onRpc, serverState } from "@web/../tests/web_test_helpers";

describe.current.tags("desktop");
defineMailModels();

// A queue call nobody took yet: it rings every member, so it has no realtor.
const TEAM_CALL = {
    id: 51,
    call_id: "955000051",
    server_id: 1,
    direction: "inbound",
    state: "ringing",
    number: "+15550102051",
    e164: "+15550102051",
    did: "",
    partner: false,
    candidates: [],
    property: false,
    user_id: false,
    match: { partners: [], properties: [], property_id: false, ambiguous: false },
};

function session() {
    // A page that loads while the team call rings: the server hands it back.
    onRpc("threecx.call", "realtor_3cx_session", () => ({
        extension: "101",
        server_id: 1,
        is_manager: false,
        bus_last_id: 0,
        ringing: [TEAM_CALL],
    }));
}

test("a team call restored on load offers Claim, and goes when a colleague claims it", async () => {
    const pyEnv = await startServer();
    session();
    await start();
    await contains(".o_realtor_3cx_popup[data-call-id='51'] .o_realtor_3cx_claim");
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.call/claimed", {
        ...TEAM_CALL,
        user_id: serverState.userId + 100,
    });
    await contains(".o_realtor_3cx_popup", { count: 0 });
    expect(getService("realtor_3cx.call").state.popups).toEqual([]);
});

test("the realtor's own claim keeps the pop-up, without Claim", async () => {
    const pyEnv = await startServer();
    session();
    await start();
    await contains(".o_realtor_3cx_popup[data-call-id='51'] .o_realtor_3cx_claim");
    pyEnv["bus.bus"]._sendone("broadcast", "realtor_3cx.call/claimed", {
        ...TEAM_CALL,
        user_id: serverState.userId,
    });
    await contains(".o_realtor_3cx_popup[data-call-id='51'] .o_realtor_3cx_claim", { count: 0 });
    await contains(".o_realtor_3cx_popup[data-call-id='51'] .o_realtor_3cx_answer");
});
