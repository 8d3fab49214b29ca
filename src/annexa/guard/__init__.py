"""Guard: find sensitive data in prompts, documents and model output; mask, pseudonymise or
block it before it reaches an AI supplier or a user.

>>> from annexa.guard import Guard
>>> g = Guard()
>>> [f.entity_type for f in g.scan("mail jane@example.com")]
['EMAIL_ADDRESS']
>>> g.redact("mail jane@example.com").text
'mail <EMAIL_ADDRESS_1>'
"""

from annexa.guard.compiled import COMPILED
from annexa.guard.engine import Guard, StreamRedactor, StreamRestorer, resolve_overlaps
from annexa.guard.findings import Blocked, Finding, GuardError, RedactResult, ScanError, ScanResult
from annexa.guard.injection import InjectionReport, detect_injection
from annexa.guard.ner import NerBackend, load_ner
from annexa.guard.operators import RedactionState, fake, mask, pseudonym
from annexa.guard.policy import Policy, load_policy, parse_policy, with_ner
from annexa.guard.vault import Vault

__all__ = [
    "COMPILED",
    "Blocked",
    "Finding",
    "Guard",
    "GuardError",
    "InjectionReport",
    "NerBackend",
    "Policy",
    "RedactResult",
    "RedactionState",
    "ScanError",
    "ScanResult",
    "StreamRedactor",
    "StreamRestorer",
    "Vault",
    "detect_injection",
    "fake",
    "load_ner",
    "load_policy",
    "mask",
    "parse_policy",
    "pseudonym",
    "resolve_overlaps",
    "with_ner",
]
