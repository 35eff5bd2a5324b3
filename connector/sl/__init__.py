"""The Service Layer client: the only code in the connector that speaks HTTP (and imports ``requests``).

- ``client``: ``ServiceLayerClient`` (get/post/patch/paging/count) and ``error_from_response``.
- ``session``: Login/Logout, the B1SESSION/ROUTEID cookies, sliding expiry, one locked re-login.
- ``transport``: one ``requests.Session``, TLS/timeouts/proxies on every call, network faults → our errors.
- ``tls``: why a TLS connection failed (host name, issuer, dates, CA file, a port that is not TLS).
- ``retry``: the pure ``is_retryable`` predicate and the tenacity policy (idempotent requests only).
- ``paging``: the page generator with its loop and off-host guards.
- ``odata``: literals, keys, ``$filter``/``$select`` builders, query encoding, next-link resolution.
- ``envelope``: v1/v2 body shapes (metadata, next link, count, errors).
"""
