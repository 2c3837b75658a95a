"""Schemathesis hooks for simgate's contract run (.ci/contract.sh).

An ICCID ends in a Luhn check digit, which no JSON Schema pattern can
express: the document says `^89[0-9]{17,18}$` and simgate refuses a wrong
check digit (400 `invalid_iccid_checksum`). So every generated ICCID that
matches the pattern gets its last digit set to the right check digit; it
stays schema-valid, and a request with it is a valid one. Nothing else is
changed, and ICCIDs outside the pattern (negative cases) are left alone.
"""

import re

import schemathesis

ICCID = re.compile(r"^89[0-9]{17,18}$")


def luhn_checked(iccid: str) -> str:
    body = iccid[:-1]
    total = 0
    for position, digit in enumerate(reversed(body)):
        value = int(digit)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return body + str((10 - total % 10) % 10)


def checked(value):
    if isinstance(value, str) and ICCID.match(value):
        return luhn_checked(value)
    return value


@schemathesis.hook
def map_path_parameters(ctx, path_parameters):
    if path_parameters and "iccid" in path_parameters:
        path_parameters["iccid"] = checked(path_parameters["iccid"])
    return path_parameters


@schemathesis.hook
def map_query(ctx, query):
    if query and "iccid" in query:
        query["iccid"] = checked(query["iccid"])
    return query


@schemathesis.hook
def map_body(ctx, body):
    if isinstance(body, dict) and "iccid" in body:
        body["iccid"] = checked(body["iccid"])
    return body
