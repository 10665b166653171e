"""What the [objective] table keeps when its kind changes (the window's objective list).

Why: a resolved preset holds every objective's keys, and several objectives declare a key of
the same name with another meaning: DDPM's beta_max is a discrete beta (0.02, at most 0.999),
the VP SDE's is beta(1) = 20; NCSN's sigma_max is its largest level (half the box diagonal),
the VE SDE's the prior's std (five times the diagonal). Carrying such a value over gave
DDPM -> SDE a VP SDE that never reaches its prior, and SDE -> NCSN or DDPM an error.

The rule: a key survives the switch only if the user set it (in the file or in the window)
and the new objective declares it with the *same* declaration as the old one (then it means
the same thing: ncsn <-> ncsn_ssm's levels, sde <-> flow_matching's likelihood keys);
every other key is dropped, so that `preset.parse` gives the new objective's own default or
derives it from the density's box. What the user had set under the new kind before
(`remembered`, see `user_values`) comes back: VE SDE -> NCSN -> SDE is the VE SDE again.
"""

from __future__ import annotations

from ..plugins.registry import objectives


def switched_objective(table: dict, new_kind: str, user_keys: set[str],
                       remembered: dict | None = None) -> dict:
    """The [objective] table `table` (of its own kind) as it should be for `new_kind`: the
    `user_keys` (names in [objective]) that both kinds declare identically, over the values
    `remembered` from an earlier visit to `new_kind`."""
    registered = objectives()
    old = registered.get(table.get("kind"))
    new = registered.get(new_kind)
    out = {**(remembered or {}), "kind": new_kind}
    if old is None or new is None:
        return out
    for key, value in table.items():
        if key == "kind" or key not in user_keys:
            continue
        if key in new.fields and new.fields[key] is old.fields.get(key):
            out[key] = value
    return out


def user_values(table: dict, user_keys: set[str]) -> dict:
    """The values of `table` the user set that its own kind declares (to remember when the
    objective changes, for `switched_objective` when it comes back)."""
    cls = objectives().get(table.get("kind"))
    if cls is None:
        return {}
    return {k: v for k, v in table.items() if k in user_keys and k in cls.fields}
