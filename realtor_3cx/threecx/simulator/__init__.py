# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""A faithful 3CX V20 stand-in: Call Control REST + WebSocket + audio, XAPI, CRM-template emitter.

Run it alone with ``python -m realtor_3cx.threecx.simulator --port 5001``; tests start it in a
thread with :class:`~.server.SimulatorThread`. Facts and their confidence: docs/3cx-api.md.
"""
