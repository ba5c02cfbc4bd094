"""The partner-branded portal: server-rendered pages for a person of a partner's tenant."""
