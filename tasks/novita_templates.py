"""Template and registry-auth reads: image, ports and private-image credential for a create."""

from __future__ import annotations

from pydantic import SecretStr

from clients.novita import NovitaClient, Template
from tasks.novita_task import novita_task


@novita_task("novita-get-template")
async def fetch_template(client: NovitaClient, template_id: str) -> Template:
    """Read a template (image, start command, ports, envs).

    Deliberately not cached: a cached result is written to disk, and a template's env values
    (`JUPYTER_TOKEN`...) are secrets. A fleet reads each template once all the same
    (`flows/provisioning/shared.py` keeps it in memory for the run).

    Example:
        ```python
        template = await fetch_template(client, "1")
        ```

    """
    return await client.get_template(template_id)


@novita_task("novita-resolve-image-auth")
async def fetch_image_auth(client: NovitaClient, registry_auth_id: str) -> SecretStr:
    """Resolve a registry-auth id to the `imageAuth` "username:password" the create call needs.

    Deliberately not cached: a cached result is written to disk and would hold the password.

    Example:
        ```python
        image_auth = await fetch_image_auth(client, template.image_auth_id)
        ```

    """
    auth = await client.get_registry_auth(registry_auth_id)
    return auth.image_auth()
