/** @odoo-module */
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";

export const TEST_NOTIFICATION = "realtor_3cx.server/test";

/**
 * The 3CX server form's *Test connection* (threecx.server.action_test_connection).
 *
 * The worker runs the test, with the token it holds (a token minted by Odoo would make 3CX
 * revoke the worker's and cut its live connection), and answers on the bus: this says the test
 * is under way, then shows the worker's report, or that no worker answered in time. The form
 * is reloaded both times so its "Connection test" line matches what the admin was told.
 */
export async function connectionTest(env, action) {
    const { test_id: testId, timeout } = action.params;
    const { bus_service: bus, notification, action: actions } = env.services;
    const closeWaiting = notification.add(_t("The worker is testing the connection to 3CX…"), {
        type: "info",
        sticky: true,
    });
    let timer = null;
    const reloadForm = () => {
        const controller = actions.currentController;
        if (controller?.action?.res_model === "threecx.server") {
            actions.doAction({ type: "ir.actions.client", tag: "soft_reload" });
        }
    };
    const finish = () => {
        clearTimeout(timer);
        bus.unsubscribe(TEST_NOTIFICATION, onReport);
        closeWaiting();
        reloadForm();
    };
    function onReport(payload) {
        if (payload.test_id !== testId) {
            return;
        }
        finish();
        notification.add(payload.message, {
            title: payload.title,
            type: payload.ok ? "success" : "danger",
            sticky: !payload.ok,
        });
    }
    bus.subscribe(TEST_NOTIFICATION, onReport);
    bus.start();
    timer = setTimeout(() => {
        finish();
        notification.add(
            _t(
                "No worker answered within %s seconds. The worker holds the connection to " +
                    "3CX and runs this test: start it (python -m realtor_3cx.worker) for " +
                    "this database, then test again.",
                timeout
            ),
            { title: _t("3CX connection not tested"), type: "warning", sticky: true }
        );
    }, timeout * 1000);
    // The form shows "Waiting for the worker" meanwhile.
    return { type: "ir.actions.client", tag: "soft_reload" };
}

registry.category("actions").add("realtor_3cx.connection_test", connectionTest);
