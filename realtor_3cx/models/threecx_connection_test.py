# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""*Test connection* of a 3CX server, run by the worker (realtor_3cx/worker/pipeline.py).

3CX keeps one live token per integration and revokes the previous one whenever another is
minted: a test minting its own token in Odoo would cut the worker's event connection (every
realtor's pop-ups), and the admin's HTTP request would wait on the PBX. So the button leaves a
row here and NOTIFYs the worker, which tests with the session it holds (or, when 3CX refused
it, with a token of its own: nobody else holds one then) and answers on the bus.

A row of its own, not fields of the server: the worker writes the server's health every few
seconds, and the admin's request writing the same row would fail to serialise against it.
"""

import datetime
import logging

from odoo import _, api, fields, models

_logger = logging.getLogger(__name__)

CHANNEL = "realtor_3cx_connection_test"
# A request no worker took within this many seconds is unanswered (the worker takes none
# older); the admin's page waits a little longer, for the test itself, before saying so.
EXPIRY = 30
WAIT = 45


class ThreecxConnectionTest(models.Model):
    _name = "threecx.connection.test"
    _description = "3CX connection test"
    _order = "id desc"

    server_id = fields.Many2one("threecx.server", required=True, ondelete="cascade", index=True)
    user_id = fields.Many2one("res.users", "Requested by", required=True, ondelete="cascade")
    state = fields.Selection(
        [
            ("pending", "Waiting for the worker"),
            ("running", "Testing"),
            ("ok", "Works"),
            ("failed", "Problems found"),
        ],
        "Connection test",
        required=True,
        default="pending",
    )
    done_at = fields.Datetime("Tested")
    report = fields.Text("Test result")
    unanswered = fields.Boolean(
        compute="_compute_unanswered",
        help="No worker took this test: the worker is not running for this database.",
    )

    @api.depends("state", "create_date")
    def _compute_unanswered(self):
        limit = fields.Datetime.subtract(fields.Datetime.now(), seconds=EXPIRY)
        for test in self:
            test.unanswered = test.state == "pending" and test.create_date < limit

    @api.model
    def _request(self, server):
        """Leave a test of ``server`` for the worker; the client action that awaits its answer."""
        test = self.sudo().create({"server_id": server.id, "user_id": self.env.uid})
        # Delivered to the worker LISTENing on this database when this request commits.
        self.env.cr.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(test.id)))
        return {
            "type": "ir.actions.client",
            "tag": "realtor_3cx.connection_test",
            "params": {"server_id": server.id, "test_id": test.id, "timeout": WAIT},
        }

    def _done(self, report):
        """Store the worker's :class:`ConnectionReport` and tell the admin who asked.

        Called by the worker, as superuser, in the language of the admin who asked.
        """
        self.ensure_one()
        server = self.server_id
        lines = [server._problem_message(problem) for problem in report.problems]
        if report.ok:
            known = {number for number, _name, _registered in report.extensions}
            missing = sorted(set(server.extension_ids.mapped("number")) - known)
            lines.append(
                _(
                    "Connected to 3CX %(version)s (%(product)s, up to %(calls)s simultaneous "
                    "calls). 3CX has %(count)s extensions; Call Control sees %(dns)s.",
                    version=report.version,
                    product=report.product_code or _("unknown licence"),
                    calls=report.max_sim_calls or "?",
                    count=len(report.extensions),
                    dns=", ".join(dn for dn, _type in report.call_control_dns) or _("no DN"),
                )
            )
            if missing:
                lines.append(
                    _(
                        "These extensions are mapped in Odoo but do not exist in 3CX: %s.",
                        ", ".join(missing),
                    )
                )
        message = "\n".join(lines)
        self.write(
            {
                "state": "ok" if report.ok else "failed",
                "done_at": fields.Datetime.now(),
                "report": message,
            }
        )
        if report.version:
            server.threecx_version = report.version
        _logger.info(
            "3CX connection test of server %s: %s",
            server.id,
            "ok" if report.ok else ", ".join(p.code for p in report.problems),
        )
        self.user_id.partner_id._bus_send(
            "realtor_3cx.server/test",
            {
                "server_id": server.id,
                "test_id": self.id,
                "ok": report.ok,
                "title": _("3CX connection works") if report.ok else _("3CX connection failed"),
                "message": message,
            },
        )

    @api.autovacuum
    def _gc_old_tests(self):
        # The last test of each server stays: its form shows it.
        limit = fields.Datetime.now() - datetime.timedelta(days=30)
        last = [last_id for _server, last_id in self._read_group([], ["server_id"], ["id:max"])]
        self.search([("create_date", "<", limit), ("id", "not in", last)]).unlink()
