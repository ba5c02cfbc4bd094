"""RQ entry points. Each takes ids (tenant id first) and wears ``tenant_job`` or ``system_job``."""
