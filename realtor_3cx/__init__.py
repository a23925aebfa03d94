# Copyright 2026 realtor_3cx contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from . import models
from . import tools
from .hooks import post_init_hook, pre_init_hook
