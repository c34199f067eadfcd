"""Templates (image, command, ports, envs) and the registry credentials private images need.

A template's ``Id`` has a capital I and its ``imageAuth`` is the *id* of a registry auth, not a
credential. The create call, in contrast, wants the credential itself as
``"username:password"``; :meth:`RegistryAuth.image_auth` builds it, kept in a ``SecretStr``.

Example:
    >>> template = Template.model_validate({"Id": "100", "name": "comfy", "image": "x:1",
    ...     "ports": [{"type": "http", "ports": [8888]}, {"type": "tcp", "ports": [22]}]})
    >>> template.ports_spec()
    '8888/http,22/tcp'

"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field, SecretStr

from clients.novita._base import (
    EpochTime,
    IdStr,
    LenientInt,
    ListOrEmpty,
    NovitaModel,
    OptionalStr,
    parse_int,
)

__all__ = ["EnvVar", "RegistryAuth", "Template", "TemplatePort"]


def _env_value(value: Any) -> Any:
    return "" if value is None else str(value)


class EnvVar(NovitaModel):
    """An environment variable of an instance or template.

    The value is left out of ``repr`` (env values often hold tokens).

    Example:
        >>> EnvVar(key="HF_HOME", value="/data")
        EnvVar(key='HF_HOME')

    """

    key: str
    value: Annotated[str, BeforeValidator(_env_value)] = Field(default="", repr=False)


def _none_to_empty(value: Any) -> Any:
    return "" if value is None else value


def _port_list(value: Any) -> Any:
    # Older template revisions sent ports as strings, sometimes comma-joined.
    if value is None or value == "":
        return []
    if isinstance(value, str | int):
        value = [value]
    if not isinstance(value, list):
        return value
    ports: list[int] = []
    for item in value:
        parts = item.split(",") if isinstance(item, str) else [item]
        for part in parts:
            port = parse_int(part)
            if port is not None:
                ports.append(port)
    return ports


class TemplatePort(NovitaModel):
    """A group of ports of one type exposed by a template.

    Example:
        >>> TemplatePort.model_validate({"type": "http", "ports": ["8888"]}).ports
        [8888]

    """

    type: str = "http"
    ports: Annotated[list[int], BeforeValidator(_port_list)] = Field(default_factory=list)


class Template(NovitaModel):
    """A Novita instance template.

    Attributes:
        id: Template id (Novita's ``Id``, a numeric string).
        name: Template name.
        image: Container image URL.
        image_auth_id: Id of the registry auth for a private image (Novita's ``imageAuth``),
            None for public images.
        start_command: Command run at start, if any.
        rootfs_size: Root filesystem size in GB.
        ports: Exposed ports, grouped by type.
        envs: Environment variables.

    Example:
        >>> template = Template.model_validate({"Id": "100", "imageAuth": ""})
        >>> template.id, template.image_auth_id
        ('100', None)

    """

    id: IdStr = Field(validation_alias=AliasChoices("Id", "id", "templateId"))
    name: str = ""
    image: str = ""
    image_auth_id: OptionalStr = Field(
        default=None, validation_alias=AliasChoices("imageAuth", "imageAuthId", "image_auth_id")
    )
    start_command: OptionalStr = None
    entrypoint: OptionalStr = None
    rootfs_size: LenientInt = None
    ports: Annotated[list[TemplatePort], ListOrEmpty] = Field(default_factory=list)
    envs: Annotated[list[EnvVar], ListOrEmpty] = Field(default_factory=list)
    type: OptionalStr = None
    channel: OptionalStr = None
    min_cuda_version: OptionalStr = None
    created_at: EpochTime = Field(
        default=None, validation_alias=AliasChoices("createdAt", "createTime")
    )

    def ports_spec(self) -> str | None:
        """Render the ports the way the create call wants them: one string.

        Returns:
            ``"8888/http,22/tcp"`` (template order, duplicates dropped), or None when the
            template exposes no port.

        Example:
            >>> ports = [{"type": "http", "ports": [8888]}, {"type": "tcp", "ports": [22]}]
            >>> Template.model_validate({"Id": "1", "ports": ports}).ports_spec()
            '8888/http,22/tcp'

        """
        seen: dict[str, None] = {}
        for group in self.ports:
            kind = (group.type or "http").strip().lower()
            for port in group.ports:
                seen.setdefault(f"{port}/{kind}", None)
        return ",".join(seen) or None


class RegistryAuth(NovitaModel):
    """Credentials of a private container registry, as stored in Novita.

    Attributes:
        id: Registry-auth id (what a template's ``imageAuth`` refers to).
        name: Display name (often the registry host).
        username: Registry user name.
        password: Registry password, never shown.

    Example:
        >>> auth = RegistryAuth(id="75irl", name="ghcr.io", username="bot", password="s3cret")
        >>> auth
        RegistryAuth(id='75irl', name='ghcr.io', username='bot', password=SecretStr('**********'))
        >>> auth.image_auth().get_secret_value()
        'bot:s3cret'

    """

    id: IdStr
    name: str = ""
    username: str = ""
    password: Annotated[SecretStr, BeforeValidator(_none_to_empty)] = SecretStr("")

    def image_auth(self) -> SecretStr:
        """The create call's ``imageAuth`` value, ``"username:password"``, as a secret.

        Example:
            >>> auth = RegistryAuth(id="75irl", username="bot", password="s3cret")
            >>> auth.image_auth()
            SecretStr('**********')

        """
        return SecretStr(f"{self.username}:{self.password.get_secret_value()}")
