"""Prefect blocks of the project; `prefect block register -m blocks` registers them all."""

from blocks.novita_credentials import MissingCredentialsError, NovitaCredentials
from blocks.novita_policies import NovitaPolicies
from blocks.webhook_settings import WebhookSettings

__all__ = ["MissingCredentialsError", "NovitaCredentials", "NovitaPolicies", "WebhookSettings"]
