"""Partner test helpers: a partner's API client, and one that acts for a tenant."""

from __future__ import annotations

from dataclasses import dataclass

from tests.helpers import ApiClient


@dataclass
class PartnerHandle:
    """A partner made for a test and an API client with its key."""

    partner_id: str
    api: ApiClient

    def as_tenant(self, tenant_id: str) -> ApiClient:
        """A client that sends the partner key with ``X-Tenant-Id``."""
        return Acting(self.api, tenant_id)


class Acting(ApiClient):
    """The partner key with ``X-Tenant-Id`` on every request."""

    def __init__(self, api: ApiClient, tenant_id: str):
        super().__init__(api.client, api.secret)
        self.tenant_id = tenant_id

    def request(self, method, path, *, headers=None, **kwargs):
        return super().request(
            method, path, headers={"X-Tenant-Id": self.tenant_id, **(headers or {})}, **kwargs
        )
