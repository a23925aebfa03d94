/** @odoo-module **/
// Copyright 2026 realtor_3cx contributors
// License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

import { browser } from "@web/core/browser/browser";
import { _t } from "@web/core/l10n/translation";

/**
 * Requests the 3CX worker answers on the bus: click-to-call, answer or decline on the
 * realtor's phone, transfer a browser call (threecx_dial.py).
 *
 * Odoo queues the request and answers at once (``state: "pending"``, or ``"refused"`` with
 * the reason); the worker's answer comes later as a ``realtor_3cx.dial/answer`` notification
 * ``{request_id, client_ref, state, message}``: ``dialing`` (it took the request), then
 * ``done`` or ``failed``. The page makes the request's id (``client_ref``) before it asks, so
 * an answer that comes before Odoo's own is not lost, and a request Odoo replays is dialled
 * once. Without an answer the page gives up by itself: a worker never places a request older
 * than its age limit (DIAL_EXPIRY, 8 s, in worker/pipeline.py), and the page waits longer.
 */
export const DIAL_ANSWER = "realtor_3cx.dial/answer";
export const PENDING_TIMEOUT_MS = 10000;
// After the worker took it: 3CX itself may be slow (its requests time out after 10 s).
export const DIALING_TIMEOUT_MS = 30000;

const pending = new Map(); // client_ref -> {resolve, timer, dialing}

/** A version 4 uuid (crypto.randomUUID exists only on https pages). */
export function newClientRef() {
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(
        16,
        20
    )}-${hex.slice(20)}`;
}

function arm(clientRef, entry, timeout, message) {
    browser.clearTimeout(entry.timer);
    entry.timer = browser.setTimeout(() => {
        pending.delete(clientRef);
        entry.resolve({ state: "timeout", message, client_ref: clientRef });
    }, timeout);
}

/**
 * Send a request and wait for the worker's answer.
 * @param {(clientRef: string) => Promise<object>} send asks Odoo, with this request's id
 * @param {string} timeoutMessage what the page says when no worker answered
 * @returns {Promise<object>} Odoo's answer merged with the worker's: ``state`` is ``done``,
 *   ``failed``, ``timeout`` or ``refused`` (never reached the worker); ``ok`` when done
 */
export async function dialRequest(send, timeoutMessage) {
    const clientRef = newClientRef();
    const entry = { timer: null, dialing: false, timeoutMessage };
    const answered = new Promise((resolve) => {
        entry.resolve = resolve;
    });
    pending.set(clientRef, entry);
    let result;
    try {
        result = await send(clientRef);
    } catch (error) {
        pending.delete(clientRef);
        throw error;
    }
    if (result.state !== "pending") {
        pending.delete(clientRef);
        return result;
    }
    // Counted from Odoo's answer: the row exists by then, so the worker's age limit started.
    if (pending.has(clientRef)) {
        arm(
            clientRef,
            entry,
            entry.dialing ? DIALING_TIMEOUT_MS : PENDING_TIMEOUT_MS,
            timeoutMessage
        );
    }
    const answer = await answered;
    return { ...result, ...answer, ok: answer.state === "done" };
}

/** A ``realtor_3cx.dial/answer`` notification (call_service.js subscribes). */
export function onDialAnswer(payload) {
    const entry = pending.get(payload.client_ref);
    if (!entry) {
        return; // another tab's request, or one this page gave up on
    }
    if (payload.state === "dialing") {
        entry.dialing = true;
        if (entry.timer) {
            arm(payload.client_ref, entry, DIALING_TIMEOUT_MS, entry.timeoutMessage);
        }
        return;
    }
    browser.clearTimeout(entry.timer);
    pending.delete(payload.client_ref);
    entry.resolve(payload);
}

export const NO_WORKER = () =>
    _t(
        "The telephony service did not answer: the 3CX worker may be stopped. Use your phone, or ask your administrator."
    );
export const NO_WORKER_SHORT = () =>
    _t("The telephony service did not answer: the 3CX worker may be stopped.");
