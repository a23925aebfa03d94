# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

# Feature mixins (AbstractModels) first: the models that compose them in their _inherit
# (threecx.server, threecx.call, res.partner) are built after them.
from . import res_partner_outbound
from . import threecx_server_crm
from . import threecx_recording
from . import threecx_call_sync
from . import threecx_call_lead
from . import threecx_call_identity
from . import threecx_dial
from . import threecx_call_crm
from . import threecx_call_outcome
from . import threecx_call_debrief
from . import threecx_call_display
from . import threecx_team
from . import threecx_speed_to_lead
from . import threecx_optout  # its review model and the call's mixin

from . import threecx_server
from . import threecx_connection_test
from . import threecx_extension
from . import res_users
from . import realtor_property
from . import res_config_settings
from . import res_partner
from . import threecx_consent  # do_not_call: the ledger's state
from . import threecx_outcome
from . import threecx_call
from . import threecx_calling_rule  # after the call: it indexes the call log
from . import threecx_call_report
from . import threecx_call_rollup  # after the report: it sums the report's view
from . import threecx_speed_to_lead_report
from . import threecx_softphone
from . import threecx_caller_lookup
from . import threecx_phonebook  # extends threecx.server
from . import threecx_dialer
from . import threecx_dialer_session
from . import threecx_dialer_report  # after the dialer: a view over its entries and sessions
from . import threecx_compliance  # after the call and the calling rule
