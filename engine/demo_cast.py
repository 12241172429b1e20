"""The demo's cast and script: its people, what its customers write, its codes and lists.

A module of its own so that the demo's content is found and changed apart from the machinery
that plays it (`engine.demo.DemoWorld`): the humans who log in, the bots who work, the
customers and their mails, the night desk, the wrap-up codes and notes, the dialer's list.
"""

from __future__ import annotations

from engine.api.schemas import DispositionNode, DispositionTree, Role

HUMANS: list[tuple[str, str, list[Role]]] = [
    ("ana", "Ana Alvarez", ["agent"]),
    ("sam", "Sam Supervisor", ["supervisor"]),
    ("root-admin", "Ada Admin", ["admin"]),
]
BOTS = [("ben", "Ben Bot"), ("carla", "Carla Bot")]
CUSTOMERS = [
    ("Maria Lopez", "maria.lopez@example.net"),
    ("John Carter", "jcarter@example.org"),
    ("Yuki Tanaka", "yuki@example.jp"),
    ("Ola Nordmann", "ola@example.no"),
    ("Priya Shah", "priya.shah@example.in"),
    ("Lucas Silva", "lucas@example.com.br"),
]
SUBJECTS = [
    (
        "My order #{n} has not arrived",
        "Hi,\n\nI ordered last week and nothing has arrived yet. "
        "The tracking page says 'label created'. Can you check?\n\nThanks",
    ),
    (
        "Invoice {n} is wrong",
        "Hello,\n\nThe invoice lists two licences but we only bought "
        "one. Please send a corrected invoice.\n\nRegards",
    ),
    (
        "Cannot log in",
        "Hi support,\n\nSince this morning the password reset mail never "
        "arrives. I checked the spam folder.\n\nBest",
    ),
    (
        "Change of delivery address",
        "Good morning,\n\nWe moved office. Could you update the "
        "delivery address on order {n}?\n\nThank you",
    ),
]

# A second campaign whose opening hours the demo moves, so a newcomer sees a campaign close
# for the night and open again within a minute: mail waits while it is closed, is routed
# when it opens, and the monitor's panel marks it in and out of schedule.
NIGHT = "Night desk"
NIGHT_ADDRESS = "night@postdesk.example"

DEMO_CODES = {
    "Support": [
        "Resolved/First contact",
        "Resolved/After follow-up",
        "Sale/Upsell/Annual",
        "Sale/Upsell/Monthly",
        "Sale/New customer",
        "Complaint/Delivery",
        "Complaint/Billing",
        "Information only",
    ],
    NIGHT: ["Resolved", "Passed to the day team"],
}
# Internal notes the bots leave now and then: never in a mail.
BOT_NOTES = [
    "Customer is a reseller: check the partner price list next time.",
    "Called back by phone, all good.",
    "Asked twice already; be quick next time.",
]


def codes_of(paths: list[str]) -> DispositionTree:
    """A tree of new codes from paths such as 'Sale/Upsell/Annual'."""
    roots: list[DispositionNode] = []
    for path in paths:
        level = roots
        for name in path.split("/"):
            node = next((n for n in level if n.name == name), None)
            if node is None:
                node = DispositionNode(name=name)
                level.append(node)
            level = node.children
    return DispositionTree(codes=roots)


def leaf_paths(nodes: list[DispositionNode]) -> list[list[str]]:
    out: list[list[str]] = []
    for node in nodes:
        below = leaf_paths(node.children)
        out += [[node.name, *rest] for rest in below] if below else [[node.name]]
    return out


# The demo dialer's small list (`DemoWorld._dialer`).
DIALER_RECIPIENTS = [
    ("Lucia", "Pereira"),
    ("Tomas", "Silva"),
    ("Ines", "Costa"),
    ("Marco", "Bianchi"),
    ("Sofia", "Rossi"),
    ("Jonas", "Berg"),
    ("Ana", "Lopes"),
    ("Pablo", "Vega"),
    ("Nora", "Lind"),
    ("Diego", "Mora"),
    ("Elena", "Ruiz"),
    ("Hugo", "Paz"),
]
