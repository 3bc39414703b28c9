"""Redis ACL users of the production profile: who may touch which read-model keys.

Channels are named like the keys they announce (read-models/ostock.lua), so each
user's channel patterns follow its key patterns.
"""

from collections.abc import Mapping

from ostock.views.keys import MODELS

#: Key families of the views, in any generation (ostock.views.keys); command statuses
#: have no generation; the saga's memory is not a view.
VIEW_FAMILIES = tuple(f"*:{family}" for families in MODELS.values() for family in families)
VIEW_KINDS = ("cmd", *VIEW_FAMILIES)
CONNECT = "+@connection"  # HELLO, PING, CLIENT SETNAME/SETINFO, ...
# What a Redis Cluster client asks to find the nodes of the slots and the commands' keys.
CLUSTER = "+cluster|slots +cluster|shards +command"


def rules(prefix: str) -> dict[str, str]:
    """Each application user's ACL rules (without its password) for key prefix `prefix`.

    Both read which generation of each model is live (the projector in each shard's
    record, which it may write too: see shard_records); the projector also keeps each
    generation's replay bookkeeping (read-models/ostock.lua). Replays run as admin."""
    views = " ".join(f"~{prefix}:{kind}:*" for kind in VIEW_KINDS)
    # Only a replay (run as admin) switches generations and takes snapshots.
    switches = f"%R~{prefix}:generations %R~{prefix}:snapshots"
    # Read by ostock_project, which declares them: Redis asks write access of every key an
    # FCALL declares.
    shard_records = f"~{prefix}:generations:*"
    bookkeeping = f"~{prefix}:*:offsets:*"
    channels = " ".join(f"&{prefix}:{kind}:*" for kind in VIEW_KINDS)
    return {
        # Reads views and waits on their channels (read-your-writes); writes nothing.
        "api": f"{views.replace('~', '%R~')} {switches} {channels} -@all +@read {CONNECT} "
        f"{CLUSTER} +subscribe +unsubscribe +ssubscribe +sunsubscribe",
        # Writes views through the ostock functions only (which publish), and loads them.
        "projector": f"{views} {switches} {shard_records} {bookkeeping} {channels} -@all "
        f"+@read {CONNECT} {CLUSTER} +fcall +fcall_ro +function|load +function|list "
        "+hset +hsetnx +zadd +zrem +expireat +publish +spublish",
        # Its own memory only.
        "saga": f"~{prefix}:saga:* -@all +@read {CONNECT} {CLUSTER} +hset +hsetnx",
    }


def aclfile(passwords: Mapping[str, str], prefix: str) -> str:
    """The aclfile: `default` off, `admin` all-powerful, the others as `rules` says."""
    lines = ["user default off", f"user admin on >{passwords['admin']} ~* &* +@all"]
    lines += [f"user {name} on >{passwords[name]} {rule}" for name, rule in rules(prefix).items()]
    return "\n".join(lines) + "\n"
