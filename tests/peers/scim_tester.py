#!/usr/bin/env python3
"""Runs the scim2-tester compliance checks (PyPI scim2-tester, httpx2 engine) against a SCIM server.

Usage:
    python3 tests/peers/scim_tester.py --url URL --token TOKEN [--email-domain DOMAIN]
        [--include-tag TAG ...] [--exclude-tag TAG ...] [--resource-type User ...]
        [--random-members]

URL is the SCIM base, `{BASE_URL}/scim/v2/{directory_id}`. Prints one line per result
(`STATUS title [ResourceType]: reason`), then a JSON line `{"passed", "failed", "skipped"}`.
Exits 1 when any result is ERROR or CRITICAL, 0 otherwise (SKIPPED is not a failure).

Generated values (scim2_tester.filling.generate_random_value, re-imported by the PATCH
add/replace checkers) are adjusted:
  * --email-domain: every generated `userName` and `emails[].value` is `<uuid4>@DOMAIN`
    (unique: a fresh uuid4 each time). The tester's own generator makes `userName` a bare
    uuid4 and emails `<uuid4>@<uuid4>.com`, which a server that provisions only verified
    domains refuses.
  * Group `members[].value` is the id of a User created for the purpose (cleaned up with
    the check), since the tester's own value is a random uuid4 no server knows;
    --random-members keeps the tester's random value.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from typing import Any


def _install_generators(email_domain: str | None, real_members: bool) -> None:
    """Wrap scim2-tester's value generator where the tester looks it up."""
    from scim2_models import Resource
    from scim2_tester import filling
    from scim2_tester.checkers import patch_add, patch_replace

    original = getattr(filling, "_scim_tester_original", filling.generate_random_value)

    def generate_random_value(context: Any, path: Any, mutability=None, required=None):
        value = original(context, path, mutability=mutability, required=required)
        if value is None:
            # The attribute was filtered out (mutability/required): keep it unset.
            return value
        binding = path.resolve()
        model = binding.target_model if binding else None
        field = binding.target_field_name if binding else None
        multi = bool(binding and binding.target_is_multivalued)
        model_name = model.__name__.lower() if model is not None else ""
        text = str(path)

        def wrap(v: Any) -> Any:
            return [v] if multi else v

        if email_domain:
            is_user_name = text == "userName" or text.endswith(":userName")
            is_email = text.endswith("emails.value") or (
                field == "value" and "email" in model_name
            )
            if is_user_name or is_email:
                return wrap(f"{uuid.uuid4()}@{email_domain}")

        if real_members and field == "value" and "member" in model_name:
            user_model = context.client.get_resource_model("User")
            if user_model is not None and issubclass(user_model, Resource):
                user = context.resource_manager.create_and_register(user_model)
                return wrap(user.id)
        return value

    generate_random_value._scim_tester_wrapped = True  # type: ignore[attr-defined]
    filling._scim_tester_original = original  # type: ignore[attr-defined]
    # fill_with_random_values (used by creation, PUT and the recursion into complex
    # attributes) reads the module global; the PATCH checkers imported the name.
    filling.generate_random_value = generate_random_value
    patch_add.generate_random_value = generate_random_value
    patch_replace.generate_random_value = generate_random_value


def _reason(result: Any) -> str:
    reason = (result.reason or "").replace("\n", " | ")
    if result.status.name in ("ERROR", "CRITICAL") and result.data is not None:
        data = result.data
        if isinstance(data, dict | list | str):
            try:
                detail = json.dumps(data, default=str)
            except (TypeError, ValueError):
                detail = repr(data)
            reason = f"{reason} data={detail[:600]}"
    return reason


def run(
    url: str,
    token: str,
    email_domain: str | None = None,
    *,
    include_tags: set[str] | None = None,
    exclude_tags: set[str] | None = None,
    resource_types: list[str] | None = None,
    real_members: bool = True,
    transport: Any = None,
    out: Any = None,
) -> int:
    """Run every check; print the results; return the exit code (1 on ERROR/CRITICAL)."""
    import httpx2
    from scim2_client.engines.httpx2 import SyncSCIMClient
    from scim2_tester import Status, check_server

    out = out or sys.stdout
    _install_generators(email_domain, real_members)

    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/scim+json",
        "Content-Type": "application/scim+json",
    }
    kwargs: dict[str, Any] = {"base_url": url, "headers": headers, "timeout": 30.0}
    if transport is not None:
        kwargs["transport"] = transport
    with httpx2.Client(**kwargs) as http:
        client = SyncSCIMClient(http)
        # check_server queries /ServiceProviderConfig, /ResourceTypes and /Schemas itself
        # and registers the description on the client: no client.discover() first.
        results = check_server(
            client,
            raise_exceptions=False,
            include_tags=include_tags,
            exclude_tags=exclude_tags,
            resource_types=resource_types,
        )

    failing = {Status.ERROR, Status.CRITICAL}
    passed = failed = skipped = 0
    for result in results:
        if result.status in failing:
            failed += 1
        elif result.status == Status.SKIPPED:
            skipped += 1
        else:  # SUCCESS, COMPLIANT, ACCEPTABLE, DEVIATION
            passed += 1
        where = f" [{result.resource_type}]" if result.resource_type else ""
        print(
            f"{result.status.name:<10} {result.title}{where}: {_reason(result)}",
            file=out,
        )
    print(
        json.dumps({"passed": passed, "failed": failed, "skipped": skipped}), file=out
    )
    out.flush()
    return 1 if failed or not results else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="{BASE_URL}/scim/v2/{directory_id}")
    parser.add_argument("--token", required=True, help="the directory's bearer token")
    parser.add_argument(
        "--email-domain",
        help="make generated userNames and emails <uuid>@DOMAIN (a verified domain)",
    )
    parser.add_argument("--include-tag", action="append", default=None)
    parser.add_argument("--exclude-tag", action="append", default=None)
    parser.add_argument("--resource-type", action="append", default=None)
    parser.add_argument(
        "--random-members",
        action="store_true",
        help="keep the tester's random Group members[].value instead of a created User's id",
    )
    args = parser.parse_args(argv)
    return run(
        args.url.rstrip("/"),
        args.token,
        args.email_domain,
        include_tags=set(args.include_tag) if args.include_tag else None,
        exclude_tags=set(args.exclude_tag) if args.exclude_tag else None,
        resource_types=args.resource_type,
        real_members=not args.random_members,
    )


if __name__ == "__main__":
    sys.exit(main())
