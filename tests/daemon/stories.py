"""Feed items written for these tests, and which shipped rule (rules/) each one matches."""

from __future__ import annotations

from tests.support.feeds import Item

#: Matches `border-security` (severity medium) through "border patrols", patrols/frontier.
BORDER = Item(
    "border-1",
    "Drones join border patrols in the east",
    "Guards doubled patrols along the frontier after smugglers crossed the river at night.",
)
#: Another `border-security` story (its own words, its own link).
HARBOUR = Item(
    "border-2",
    "Coast guard tightens border controls at the harbour",
    "Inspectors searched every lorry for smuggled fuel before the ferries left.",
)
#: Matches no shipped rule.
BAKERY = Item(
    "bakery-1",
    "Village bakery wins regional bread award",
    "The judges praised the sourdough and the rye.",
)

#: Five different `border-security` stories (too different to be clustered into one).
BORDER_STORIES = [
    BORDER,
    HARBOUR,
    Item(
        "border-3",
        "New watchtowers rise along the mountain frontier",
        "Border guards said the towers will help stop smugglers moving cigarettes.",
    ),
    Item(
        "border-4",
        "Ministers agree joint plan on border security",
        "The two governments will share radar data and run joint patrols.",
    ),
    Item(
        "border-5",
        "Militants fired on a border post overnight",
        "Soldiers returned fire and reinforced the frontier positions by morning.",
    ),
]
